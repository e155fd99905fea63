import type { Rng } from '../render/rng';
import type { Point, Shape } from '../render/shapes';
import { COATS, jitter, shade, type AnimalSpec, type BodyPart, type Rgb, type Texture } from './animal';

const deg = Math.PI / 180;

const PLUMAGE: readonly Rgb[] = [
  [200, 40, 40],
  [40, 80, 190],
  [230, 200, 40],
  [60, 150, 70],
  COATS.brown,
  COATS.black,
  COATS.white,
  COATS.grey,
  COATS.orange,
];

function buildBird(rng: Rng): BodyPart[] {
  const tilt = rng.uniform(-40, -15) * deg;
  const rx = rng.uniform(0.28, 0.34);
  const ry = rng.uniform(0.15, 0.19);
  const body: Rgb = jitter(rng, rng.pick(PLUMAGE), 20);
  const wing: Rgb = rng.chance(0.5) ? shade(body, 0.6) : jitter(rng, rng.pick(PLUMAGE), 20);
  const at = (x: number, y: number): Point => [
    Math.cos(tilt) * x - Math.sin(tilt) * y,
    Math.sin(tilt) * x + Math.cos(tilt) * y,
  ];
  const neckBase = at(rx * 0.8, -ry * 0.3);
  const headR = rng.uniform(0.1, 0.13);
  const head: Point = [neckBase[0] + 0.06, neckBase[1] - rng.uniform(0.1, 0.16)];
  const beakLength = rng.uniform(0.08, 0.17);
  const beakTilt = rng.uniform(-15, 25) * deg;
  const beakBase: Point = [head[0] + headR * 0.85, head[1]];
  const beakTip: Point = [
    beakBase[0] + Math.cos(beakTilt) * beakLength,
    beakBase[1] + Math.sin(beakTilt) * beakLength,
  ];
  const tailRoot = at(-rx * 0.9, ry * 0.1);
  const tailLen = rng.uniform(0.2, 0.3);
  const tailDir = tilt + Math.PI + rng.uniform(-20, 20) * deg;
  const fan = rng.uniform(0.06, 0.1);
  const tailEnd: Point = [
    tailRoot[0] + Math.cos(tailDir) * tailLen,
    tailRoot[1] + Math.sin(tailDir) * tailLen,
  ];
  const perp: Point = [-Math.sin(tailDir) * fan, Math.cos(tailDir) * fan];
  const legs: Shape[] = [-0.08, 0.06].map((dx) => {
    const hip = at(dx, ry * 0.8);
    const foot: Point = [hip[0] + rng.uniform(-0.04, 0.04), hip[1] + rng.uniform(0.17, 0.24)];
    return { kind: 'capsule', a: hip, b: foot, ra: 0.018, rb: 0.014 };
  });
  const plain: Texture = { kind: 'plain' };
  const legColour = jitter(rng, [190, 140, 60], 20);
  return [
    { part: 'hind-legs', shapes: legs, colour: legColour, texture: plain },
    {
      part: 'tail',
      shapes: [
        {
          kind: 'polygon',
          points: [
            [tailRoot[0], tailRoot[1] - 0.03],
            [tailEnd[0] + perp[0], tailEnd[1] + perp[1]],
            [tailEnd[0] - perp[0], tailEnd[1] - perp[1]],
            [tailRoot[0], tailRoot[1] + 0.03],
          ],
        },
      ],
      colour: wing,
      texture: plain,
    },
    {
      part: 'torso',
      shapes: [{ kind: 'ellipse', cx: 0, cy: 0, rx, ry, angle: tilt }],
      colour: body,
      texture: plain,
    },
    {
      part: 'neck',
      shapes: [{ kind: 'capsule', a: neckBase, b: head, ra: 0.075, rb: 0.07 }],
      colour: body,
      texture: plain,
    },
    {
      part: 'head',
      shapes: [{ kind: 'ellipse', cx: head[0], cy: head[1], rx: headR, ry: headR * 0.92, angle: 0 }],
      colour: rng.chance(0.3) ? jitter(rng, rng.pick(PLUMAGE), 20) : body,
      texture: plain,
    },
    {
      part: 'beak',
      shapes: [
        {
          kind: 'polygon',
          points: [
            [beakBase[0] - 0.01, beakBase[1] - 0.035],
            beakTip,
            [beakBase[0] - 0.01, beakBase[1] + 0.035],
          ],
        },
      ],
      colour: jitter(
        rng,
        rng.pick([
          [230, 170, 40],
          [50, 45, 40],
          [200, 120, 60],
        ] as const),
        15,
      ),
      texture: plain,
    },
    {
      part: 'wings',
      shapes: [
        {
          kind: 'ellipse',
          ...centre(at(-rx * 0.1, -ry * 0.05)),
          rx: rx * rng.uniform(0.75, 0.95),
          ry: ry * 0.55,
          angle: tilt + rng.uniform(-10, 25) * deg,
        },
      ],
      colour: wing,
      texture: plain,
    },
  ];
}

function centre(p: Point): { cx: number; cy: number } {
  return { cx: p[0], cy: p[1] };
}

export const bird: AnimalSpec = {
  id: 'bird',
  description:
    'a small upright body on two thin legs, a round head with a beak, a folded wing, a fanned tail',
  parts: ['head', 'neck', 'torso', 'hind-legs', 'tail', 'beak', 'wings'],
  relativeSize: 1.45,
  build: buildBird,
};
