import type { AnimalSpec } from './animal';
import { buildQuadruped, type QuadrupedParams } from './quadruped';

const params: QuadrupedParams = {
  torso: { rx: [0.48, 0.55], ry: [0.19, 0.23], shape: 'ellipse' },
  legs: { length: [0.5, 0.6], top: 0.085, bottom: 0.045, spread: 0.75, swing: 18 },
  neck: { length: [0.3, 0.38], angle: [45, 65], width: 0.11 },
  head: { rx: [0.22, 0.26], ry: [0.09, 0.11], muzzle: [0.08, 0.1], droop: [35, 55] },
  ears: 'pointed',
  tail: 'hair',
  coats: ['brown', 'black', 'white', 'chestnut', 'grey'],
  texture: { spots: 0.05 },
};

export const horse: AnimalSpec = {
  id: 'horse',
  description:
    'a long body on long legs, a long raised neck, an elongated head angled down, a long hanging tail',
  parts: ['head', 'neck', 'torso', 'front-legs', 'hind-legs', 'tail', 'ears'],
  build: (rng) => buildQuadruped(rng, params),
};
