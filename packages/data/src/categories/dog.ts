import type { AnimalSpec } from './animal';
import { buildQuadruped, type QuadrupedParams } from './quadruped';

const params: QuadrupedParams = {
  torso: { rx: [0.42, 0.5], ry: [0.17, 0.22], shape: 'ellipse' },
  legs: { length: [0.34, 0.42], top: 0.07, bottom: 0.05, spread: 0.72, swing: 22 },
  neck: { length: [0.12, 0.2], angle: [35, 60], width: 0.09 },
  head: { rx: [0.17, 0.2], ry: [0.12, 0.14], muzzle: [0.11, 0.15], droop: [0, 10] },
  ears: 'floppy',
  tail: 'raised',
  coats: ['brown', 'black', 'white', 'golden', 'tan', 'grey'],
  texture: { spots: 0.15, stripes: 0.05 },
};

export const dog: AnimalSpec = {
  id: 'dog',
  description: 'longer body and legs than a cat, a head with a long muzzle and floppy ears, a raised tail',
  parts: ['head', 'neck', 'torso', 'front-legs', 'hind-legs', 'tail', 'ears'],
  build: (rng) => buildQuadruped(rng, params),
};
