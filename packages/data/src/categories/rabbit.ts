import type { AnimalSpec } from './animal';
import { buildQuadruped, type QuadrupedParams } from './quadruped';

const params: QuadrupedParams = {
  torso: { rx: [0.32, 0.38], ry: [0.2, 0.25], shape: 'ellipse' },
  legs: { length: [0.12, 0.16], top: 0.08, bottom: 0.05, spread: 0.65, swing: 10 },
  neck: { length: [0, 0], angle: [20, 40], width: 0.08 },
  head: { rx: [0.14, 0.16], ry: [0.12, 0.14], muzzle: [0.04, 0.06], droop: [0, 10] },
  ears: 'long',
  tail: 'pom',
  coats: ['grey', 'brown', 'white', 'tan', 'cream'],
  texture: { spots: 0.1 },
};

export const rabbit: AnimalSpec = {
  id: 'rabbit',
  description:
    'a hunched round body with no visible neck, very long upright ears, short legs, a round pom tail',
  parts: ['head', 'torso', 'front-legs', 'hind-legs', 'tail', 'ears'],
  build: (rng) => buildQuadruped(rng, params),
};
