import type { AnimalSpec } from './animal';
import { buildQuadruped, type QuadrupedParams } from './quadruped';

const params: QuadrupedParams = {
  torso: { rx: [0.5, 0.56], ry: [0.24, 0.28], shape: 'box' },
  legs: { length: [0.32, 0.38], top: 0.09, bottom: 0.07, spread: 0.75, swing: 12 },
  neck: { length: [0.1, 0.15], angle: [5, 25], width: 0.15 },
  head: { rx: [0.15, 0.18], ry: [0.13, 0.15], muzzle: [0.09, 0.11], droop: [20, 35] },
  ears: 'small',
  horns: 'short',
  tail: 'tufted',
  coats: ['black', 'white', 'brown', 'tan'],
  texture: { spots: 0.6 },
};

export const cow: AnimalSpec = {
  id: 'cow',
  description:
    'a large blocky body on thick legs, a low-held head with short horns and small side ears, a thin tail with a tuft; often spotted',
  parts: ['head', 'neck', 'torso', 'front-legs', 'hind-legs', 'tail', 'ears', 'horns'],
  build: (rng) => buildQuadruped(rng, params),
};
