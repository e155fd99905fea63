import type { AnimalSpec } from './animal';
import { buildQuadruped, type QuadrupedParams } from './quadruped';

const params: QuadrupedParams = {
  torso: { rx: [0.42, 0.48], ry: [0.25, 0.3], shape: 'wool' },
  legs: { length: [0.24, 0.3], top: 0.045, bottom: 0.035, spread: 0.65, swing: 12 },
  neck: { length: [0.05, 0.1], angle: [10, 30], width: 0.1 },
  head: { rx: [0.13, 0.15], ry: [0.09, 0.11], muzzle: [0.06, 0.08], droop: [20, 35] },
  ears: 'small',
  tail: 'stub',
  coats: ['white', 'cream', 'grey'],
  dark: { head: true, legs: true },
  texture: {},
};

export const sheep: AnimalSpec = {
  id: 'sheep',
  description: 'a round fleece body with a bumpy outline, a small dark face and thin dark legs, a stub tail',
  parts: ['head', 'neck', 'torso', 'front-legs', 'hind-legs', 'tail', 'ears'],
  build: (rng) => buildQuadruped(rng, params),
};
