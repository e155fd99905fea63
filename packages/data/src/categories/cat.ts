import type { AnimalSpec } from './animal';
import { buildQuadruped, type QuadrupedParams } from './quadruped';

const params: QuadrupedParams = {
  torso: { rx: [0.38, 0.44], ry: [0.15, 0.19], shape: 'ellipse' },
  legs: { length: [0.28, 0.34], top: 0.055, bottom: 0.04, spread: 0.7, swing: 20 },
  neck: { length: [0.05, 0.1], angle: [30, 60], width: 0.09 },
  head: { rx: [0.14, 0.17], ry: [0.12, 0.14], muzzle: [0, 0], droop: [-5, 5] },
  ears: 'pointed',
  tail: 'long-curved',
  coats: ['orange', 'grey', 'black', 'white', 'brown', 'cream'],
  texture: { stripes: 0.4, spots: 0.1 },
};

export const cat: AnimalSpec = {
  id: 'cat',
  description:
    'small oval body, round head with pointed upright ears, short legs, a long tail curving up; often striped',
  parts: ['head', 'neck', 'torso', 'front-legs', 'hind-legs', 'tail', 'ears'],
  build: (rng) => buildQuadruped(rng, params),
};
