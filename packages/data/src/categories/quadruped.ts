import type { Rng } from '../render/rng';
import type { Point, Shape } from '../render/shapes';
import {
  COATS,
  jitter,
  pickTexture,
  shade,
  type BodyPart,
  type CoatName,
  type Rgb,
  type Texture,
} from './animal';

type Range = readonly [number, number];

/** What makes one four-legged category look like itself: proportions and part shapes. */
export interface QuadrupedParams {
  readonly torso: { readonly rx: Range; readonly ry: Range; readonly shape: 'ellipse' | 'box' | 'wool' };
  readonly legs: {
    readonly length: Range;
    readonly top: number;
    readonly bottom: number;
    readonly spread: number;
    readonly swing: number;
  };
  readonly neck: { readonly length: Range; readonly angle: Range; readonly width: number };
  readonly head: { readonly rx: Range; readonly ry: Range; readonly muzzle: Range; readonly droop: Range };
  readonly ears: 'pointed' | 'floppy' | 'long' | 'small';
  readonly horns?: 'short' | 'antlers';
  readonly tail: 'long-curved' | 'raised' | 'tufted' | 'hair' | 'stub' | 'pom';
  readonly coats: readonly CoatName[];
  /** Colour of legs and face when they differ from the coat (sheep: dark face and legs). */
  readonly dark?: { readonly head: boolean; readonly legs: boolean };
  readonly texture: { readonly stripes?: number; readonly spots?: number };
}

const u = (rng: Rng, r: Range) => rng.uniform(r[0], r[1]);
const deg = Math.PI / 180;

function torsoShapes(rng: Rng, p: QuadrupedParams, rx: number, ry: number): Shape[] {
  switch (p.torso.shape) {
    case 'ellipse':
      return [{ kind: 'ellipse', cx: 0, cy: 0, rx, ry, angle: 0 }];
    case 'box': {
      // A rounded box: a rectangle with capsule ends (cattle are blocky, not oval).
      const r = ry * 0.85;
      return [
        {
          kind: 'polygon',
          points: [
            [-rx + r, -ry],
            [rx - r, -ry * 1.02],
            [rx - r, ry],
            [-rx + r, ry],
          ],
        },
        { kind: 'capsule', a: [-rx + r, 0], b: [-rx + r, 0.01], ra: ry, rb: ry },
        { kind: 'capsule', a: [rx - r, -0.02], b: [rx - r, 0], ra: ry, rb: ry },
      ];
    }
    case 'wool': {
      // Fleece: a bumpy outline of overlapping puffs around an oval.
      const shapes: Shape[] = [{ kind: 'ellipse', cx: 0, cy: 0, rx: rx * 0.92, ry: ry * 0.9, angle: 0 }];
      const n = 14;
      for (let i = 0; i < n; i++) {
        const t = (i / n) * Math.PI * 2;
        const pr = ry * rng.uniform(0.28, 0.38);
        shapes.push({
          kind: 'ellipse',
          cx: Math.cos(t) * rx * 0.82,
          cy: Math.sin(t) * ry * 0.78,
          rx: pr,
          ry: pr,
          angle: 0,
        });
      }
      return shapes;
    }
  }
}

function leg(rng: Rng, p: QuadrupedParams, hip: Point, length: number): Shape {
  const swing = rng.uniform(-p.legs.swing, p.legs.swing) * deg;
  const foot: Point = [hip[0] + Math.sin(swing) * length, hip[1] + Math.cos(swing) * length];
  return { kind: 'capsule', a: hip, b: foot, ra: p.legs.top, rb: p.legs.bottom };
}

function earShapes(p: QuadrupedParams, head: Point, hrx: number, hry: number, droop: number): Shape[] {
  const [hx, hy] = head;
  switch (p.ears) {
    case 'pointed':
      return [-0.55, 0.05].map((dx) => ({
        kind: 'polygon' as const,
        points: [
          [hx + dx * hrx, hy - hry * 0.6],
          [hx + (dx + 0.5) * hrx, hy - hry * 0.7],
          [hx + (dx + 0.15) * hrx, hy - hry * 1.75],
        ] as Point[],
      }));
    case 'floppy':
      return [
        {
          kind: 'ellipse',
          cx: hx - hrx * 0.45,
          cy: hy + hry * 0.1,
          rx: hry * 0.32,
          ry: hry * 0.85,
          angle: (12 + droop) * deg,
        },
      ];
    case 'long':
      return [-0.35, 0.05].map((dx, i) => ({
        kind: 'ellipse' as const,
        cx: hx + dx * hrx,
        cy: hy - hry * 1.9,
        rx: hry * 0.28,
        ry: hry * 1.25,
        angle: (-12 + i * 14) * deg,
      }));
    case 'small':
      return [
        {
          kind: 'ellipse',
          cx: hx - hrx * 0.55,
          cy: hy - hry * 0.55,
          rx: hry * 0.45,
          ry: hry * 0.2,
          angle: -20 * deg,
        },
      ];
  }
}

function hornShapes(p: QuadrupedParams, rng: Rng, head: Point, hrx: number, hry: number): Shape[] {
  const [hx, hy] = head;
  if (p.horns === 'short') {
    const base: Point = [hx - hrx * 0.15, hy - hry * 0.75];
    return [
      {
        kind: 'capsule',
        a: base,
        b: [base[0] + hrx * 0.35, base[1] - hry * 0.45],
        ra: hry * 0.14,
        rb: hry * 0.07,
      },
      {
        kind: 'capsule',
        a: [base[0] + hrx * 0.35, base[1] - hry * 0.45],
        b: [base[0] + hrx * 0.6, base[1] - hry * 0.5],
        ra: hry * 0.07,
        rb: hry * 0.04,
      },
    ];
  }
  if (p.horns === 'antlers') {
    const base: Point = [hx - hrx * 0.2, hy - hry * 0.8];
    const top: Point = [base[0] - hrx * 0.5, base[1] - hry * rng.uniform(2.2, 2.8)];
    const shapes: Shape[] = [{ kind: 'capsule', a: base, b: top, ra: hry * 0.1, rb: hry * 0.06 }];
    const tines = rng.int(2, 4);
    for (let i = 1; i <= tines; i++) {
      const t = i / (tines + 1);
      const at: Point = [base[0] + (top[0] - base[0]) * t, base[1] + (top[1] - base[1]) * t];
      shapes.push({
        kind: 'capsule',
        a: at,
        b: [at[0] + hrx * rng.uniform(0.35, 0.6), at[1] - hry * rng.uniform(0.4, 0.8)],
        ra: hry * 0.06,
        rb: hry * 0.04,
      });
    }
    return shapes;
  }
  return [];
}

function tailShapes(p: QuadrupedParams, rng: Rng, root: Point, ry: number): Shape[] {
  const [x, y] = root;
  const segment = (a: Point, angle: number, len: number, ra: number, rb: number): [Shape, Point] => {
    const b: Point = [a[0] + Math.cos(angle) * len, a[1] + Math.sin(angle) * len];
    return [{ kind: 'capsule', a, b, ra, rb }, b];
  };
  switch (p.tail) {
    case 'long-curved': {
      const shapes: Shape[] = [];
      let at: Point = root;
      let angle = (180 + rng.uniform(10, 35)) * deg;
      for (let i = 0; i < 4; i++) {
        const [s, end] = segment(at, angle, 0.17, 0.035, 0.03);
        shapes.push(s);
        at = end;
        angle += rng.uniform(12, 28) * deg;
      }
      return shapes;
    }
    case 'raised':
      return [segment(root, (180 + rng.uniform(25, 60)) * deg, rng.uniform(0.25, 0.35), 0.05, 0.025)[0]];
    case 'tufted': {
      const [s, end] = segment(root, (90 + rng.uniform(10, 30)) * deg, rng.uniform(0.45, 0.6), 0.025, 0.02);
      return [s, { kind: 'ellipse', cx: end[0], cy: end[1] + 0.03, rx: 0.04, ry: 0.08, angle: 0 }];
    }
    case 'hair':
      return [segment(root, (100 + rng.uniform(5, 40)) * deg, rng.uniform(0.5, 0.65), 0.07, 0.045)[0]];
    case 'stub':
      return [{ kind: 'ellipse', cx: x - 0.03, cy: y - ry * 0.1, rx: 0.07, ry: 0.045, angle: -25 * deg }];
    case 'pom':
      return [{ kind: 'ellipse', cx: x - 0.02, cy: y, rx: 0.09, ry: 0.09, angle: 0 }];
  }
}

/** Builds a random four-legged individual in drawing order (far legs behind, head in front). */
export function buildQuadruped(rng: Rng, p: QuadrupedParams): BodyPart[] {
  const rx = u(rng, p.torso.rx);
  const ry = u(rng, p.torso.ry);
  const coat: Rgb = jitter(rng, COATS[rng.pick(p.coats)], 18);
  const texture: Texture = pickTexture(rng, p.texture, coat);
  const darkColour: Rgb = jitter(rng, COATS.black, 10);
  const legColour = p.dark?.legs ? darkColour : coat;
  const headColour = p.dark?.head ? darkColour : coat;
  const far = (c: Rgb) => shade(c, 0.72);
  const legLength = u(rng, p.legs.length);
  const hipY = ry * 0.55;
  const front = p.legs.spread * rx;
  const hind = -p.legs.spread * rx;
  const neckAngle = u(rng, p.neck.angle) * deg;
  const neckLength = u(rng, p.neck.length);
  const neckBase: Point = [rx * 0.78, -ry * 0.35];
  const neckEnd: Point = [
    neckBase[0] + Math.cos(neckAngle) * neckLength,
    neckBase[1] - Math.sin(neckAngle) * neckLength,
  ];
  const hrx = u(rng, p.head.rx);
  const hry = u(rng, p.head.ry);
  const droop = u(rng, p.head.droop);
  const head: Point = [neckEnd[0] + hrx * 0.35, neckEnd[1] - hry * 0.1];
  const muzzle = u(rng, p.head.muzzle);
  const headShapes: Shape[] = [
    { kind: 'ellipse', cx: head[0], cy: head[1], rx: hrx, ry: hry, angle: droop * deg },
  ];
  if (muzzle > 0) {
    headShapes.push({
      kind: 'ellipse',
      cx: head[0] + hrx * 0.75,
      cy: head[1] + hry * 0.35,
      rx: muzzle,
      ry: hry * 0.5,
      angle: (droop + 15) * deg,
    });
  }
  const plain: Texture = { kind: 'plain' };
  const parts: BodyPart[] = [
    {
      part: 'front-legs',
      shapes: [leg(rng, p, [front + 0.05, hipY - 0.03], legLength)],
      colour: far(legColour),
      texture: plain,
    },
    {
      part: 'hind-legs',
      shapes: [leg(rng, p, [hind + 0.05, hipY - 0.03], legLength)],
      colour: far(legColour),
      texture: plain,
    },
    {
      part: 'tail',
      shapes: tailShapes(p, rng, [-rx * 0.95, -ry * 0.35], ry),
      colour: shade(coat, 0.9),
      texture: plain,
    },
    { part: 'torso', shapes: torsoShapes(rng, p, rx, ry), colour: coat, texture },
    {
      part: 'front-legs',
      shapes: [leg(rng, p, [front, hipY], legLength)],
      colour: legColour,
      texture: plain,
    },
    { part: 'hind-legs', shapes: [leg(rng, p, [hind, hipY], legLength)], colour: legColour, texture: plain },
  ];
  if (neckLength > 0.02) {
    parts.push({
      part: 'neck',
      shapes: [{ kind: 'capsule', a: neckBase, b: neckEnd, ra: p.neck.width, rb: p.neck.width * 0.75 }],
      colour: coat,
      texture,
    });
  }
  parts.push({
    part: 'head',
    shapes: headShapes,
    colour: headColour,
    texture: p.dark?.head ? plain : texture,
  });
  parts.push({
    part: 'ears',
    shapes: earShapes(p, head, hrx, hry, droop),
    colour: shade(headColour, 0.85),
    texture: plain,
  });
  const horns = hornShapes(p, rng, head, hrx, hry);
  if (horns.length > 0)
    parts.push({ part: 'horns', shapes: horns, colour: jitter(rng, [222, 210, 180], 15), texture: plain });
  return parts;
}
