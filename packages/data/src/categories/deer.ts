import type { AnimalSpec } from './animal';
import { buildQuadruped, type QuadrupedParams } from './quadruped';

const params: QuadrupedParams = {
  torso: { rx: [0.4, 0.46], ry: [0.15, 0.18], shape: 'ellipse' },
  legs: { length: [0.5, 0.58], top: 0.05, bottom: 0.028, spread: 0.7, swing: 15 },
  neck: { length: [0.25, 0.32], angle: [50, 70], width: 0.07 },
  head: { rx: [0.14, 0.16], ry: [0.08, 0.1], muzzle: [0.06, 0.08], droop: [25, 40] },
  ears: 'pointed',
  horns: 'antlers',
  tail: 'stub',
  coats: ['brown', 'tan', 'chestnut'],
  texture: { spots: 0.25 },
};

export const deer: AnimalSpec = {
  id: 'deer',
  description:
    'a slim body on long thin legs, a long upright neck, a small head with branching antlers, a stub tail; fawn spots sometimes',
  parts: ['head', 'neck', 'torso', 'front-legs', 'hind-legs', 'tail', 'ears', 'horns'],
  build: (rng) => buildQuadruped(rng, params),
};
