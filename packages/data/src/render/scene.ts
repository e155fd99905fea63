import type { Rgb } from '../categories/animal';
import { css, paintShapes, type Ctx } from './paint';
import type { Rng } from './rng';
import type { Shape } from './shapes';

/** Something drawn in front of the animal: it hides the parts behind it from every mask. */
export interface Occluder {
  readonly shapes: readonly Shape[];
  readonly colour: Rgb;
}

const SKIES: readonly [Rgb, Rgb][] = [
  [
    [110, 160, 220],
    [200, 225, 245],
  ],
  [
    [150, 160, 175],
    [210, 212, 215],
  ],
  [
    [230, 150, 90],
    [250, 215, 160],
  ],
  [
    [70, 110, 170],
    [160, 195, 230],
  ],
];
const GROUNDS: readonly Rgb[] = [
  [90, 140, 60],
  [120, 150, 70],
  [150, 130, 90],
  [190, 170, 120],
  [110, 110, 100],
  [70, 110, 50],
];
const FOLIAGE: readonly Rgb[] = [
  [50, 100, 45],
  [70, 125, 55],
  [95, 120, 50],
  [40, 80, 40],
];
const WOOD: readonly Rgb[] = [
  [100, 70, 45],
  [80, 60, 45],
  [130, 100, 70],
];

function tree(rng: Rng, x: number, groundY: number, size: number): Occluder[] {
  const h = size * rng.uniform(0.3, 0.6);
  const w = size * rng.uniform(0.02, 0.04);
  const trunk: Occluder = {
    shapes: [
      { kind: 'capsule', a: [x, groundY], b: [x + rng.uniform(-2, 2), groundY - h], ra: w, rb: w * 0.7 },
    ],
    colour: rng.pick(WOOD),
  };
  const canopy: Shape[] = [];
  for (let i = 0; i < rng.int(2, 5); i++) {
    const r = size * rng.uniform(0.08, 0.16);
    canopy.push({
      kind: 'ellipse',
      cx: x + rng.uniform(-1, 1) * r,
      cy: groundY - h - rng.uniform(-0.3, 0.6) * r,
      rx: r,
      ry: r * rng.uniform(0.7, 1),
      angle: 0,
    });
  }
  return [trunk, { shapes: canopy, colour: rng.pick(FOLIAGE) }];
}

function fence(rng: Rng, groundY: number, size: number): Occluder[] {
  const colour = rng.pick(WOOD);
  const gap = size * rng.uniform(0.12, 0.22);
  const h = size * rng.uniform(0.12, 0.22);
  const w = size * 0.015;
  const posts: Shape[] = [];
  for (let x = rng.uniform(0, gap); x < size; x += gap)
    posts.push({ kind: 'capsule', a: [x, groundY + 1], b: [x, groundY - h], ra: w, rb: w });
  const rails: Shape[] = [0.35, 0.8].map((t) => ({
    kind: 'polygon',
    points: [
      [0, groundY - h * t - w],
      [size, groundY - h * t - w],
      [size, groundY - h * t + w],
      [0, groundY - h * t + w],
    ],
  }));
  return [{ shapes: [...posts, ...rails], colour }];
}

/**
 * Sky, ground, and behind-the-animal clutter (trees, rocks, a river, fences). `river` forces the
 * river in (true) or out (false); by default 35 % of scenes have one. The river's outline is
 * returned (for its mask). Forcing it shifts the random draws after it (the trees, fences and
 * rocks of that scene differ from the unforced one's).
 */
export function paintBackground(
  ctx: Ctx,
  rng: Rng,
  size: number,
  options: { river?: boolean } = {},
): { horizon: number; river: Shape | null } {
  const horizon = size * rng.uniform(0.25, 0.55);
  const [top, bottom] = rng.pick(SKIES);
  const sky = ctx.createLinearGradient(0, 0, 0, horizon);
  sky.addColorStop(0, css(top));
  sky.addColorStop(1, css(bottom));
  ctx.fillStyle = sky;
  ctx.fillRect(0, 0, size, horizon + 1);
  const ground = rng.pick(GROUNDS);
  ctx.fillStyle = css(ground);
  ctx.fillRect(0, horizon, size, size - horizon);
  // Ground texture: short strokes and speckles, denser near the viewer.
  ctx.lineWidth = Math.max(0.5, size / 128);
  ctx.beginPath();
  for (let i = 0; i < size * 1.5; i++) {
    const y = rng.uniform(horizon, size);
    const x = rng.uniform(0, size);
    const len = (size / 40) * (0.5 + (y - horizon) / (size - horizon));
    ctx.moveTo(x, y);
    ctx.lineTo(x + rng.uniform(-0.4, 0.4) * len, y - len);
  }
  ctx.strokeStyle = css([ground[0] * 0.7, ground[1] * 0.75, ground[2] * 0.7], 0.8);
  ctx.stroke();
  if (rng.chance(0.4)) {
    // Distant hills.
    ctx.beginPath();
    ctx.moveTo(0, horizon);
    for (let x = 0; x <= size; x += size / 8) ctx.lineTo(x, horizon - rng.uniform(0, size * 0.08));
    ctx.lineTo(size, horizon);
    ctx.closePath();
    ctx.fillStyle = css([ground[0] * 0.8, ground[1] * 0.85, ground[2] * 0.9]);
    ctx.fill();
  }
  let river: Shape | null = null;
  const drawn = rng.chance(0.35);
  if (options.river ?? drawn) {
    // A river across the ground: a wavy band with ripples.
    const y0 = rng.uniform(horizon + size * 0.05, size * 0.9);
    const w = size * rng.uniform(0.06, 0.14);
    const phase = rng.uniform(0, Math.PI * 2);
    const points: [number, number][] = [];
    for (let x = 0; x <= size; x += size / 16)
      points.push([x, y0 + Math.sin((x / size) * 6 + phase) * size * 0.03]);
    for (let x = size; x >= 0; x -= size / 16)
      points.push([x, y0 + w + Math.sin((x / size) * 6 + phase + 0.5) * size * 0.03]);
    river = { kind: 'polygon', points };
    ctx.beginPath();
    for (const [x, y] of points) ctx.lineTo(x, y);
    ctx.closePath();
    ctx.fillStyle = css(
      rng.pick([
        [60, 110, 170],
        [70, 130, 150],
        [90, 140, 180],
      ] as const),
    );
    ctx.fill();
    ctx.strokeStyle = 'rgba(220,235,250,0.5)';
    ctx.beginPath();
    for (let i = 0; i < 6; i++) {
      const x = rng.uniform(0, size);
      const y = y0 + rng.uniform(0.2, 0.8) * w;
      ctx.moveTo(x, y);
      ctx.lineTo(x + size * 0.05, y);
    }
    ctx.stroke();
  }
  const behind: Occluder[] = [];
  for (let i = rng.int(0, 3); i > 0; i--)
    behind.push(...tree(rng, rng.uniform(0, size), horizon + rng.uniform(0, size * 0.1), size));
  if (rng.chance(0.25)) behind.push(...fence(rng, horizon + rng.uniform(size * 0.05, size * 0.2), size));
  for (let i = rng.int(0, 3); i > 0; i--) {
    const r = size * rng.uniform(0.03, 0.08);
    behind.push({
      shapes: [
        {
          kind: 'ellipse',
          cx: rng.uniform(0, size),
          cy: rng.uniform(horizon, size),
          rx: r,
          ry: r * 0.6,
          angle: 0,
        },
      ],
      colour: rng.pick([
        [120, 118, 115],
        [90, 88, 85],
        [150, 145, 135],
      ] as const),
    });
  }
  for (const o of behind)
    paintShapes(ctx, rng, { shapes: o.shapes, colour: o.colour, texture: { kind: 'plain' }, unit: size });
  return { horizon, river };
}

/** Things in front of the animal (a bush, tall grass, a post), drawn after it. */
export function sampleOccluders(rng: Rng, size: number): Occluder[] {
  if (!rng.chance(0.35)) return [];
  const kind = rng.pick(['bush', 'grass', 'post'] as const);
  const x = rng.uniform(0, size);
  switch (kind) {
    case 'bush': {
      const shapes: Shape[] = [];
      const r = size * rng.uniform(0.08, 0.16);
      for (let i = 0; i < rng.int(3, 6); i++)
        shapes.push({
          kind: 'ellipse',
          cx: x + rng.uniform(-1.5, 1.5) * r,
          cy: size - rng.uniform(0, 1.2) * r,
          rx: r,
          ry: r * 0.8,
          angle: 0,
        });
      return [{ shapes, colour: rng.pick(FOLIAGE) }];
    }
    case 'grass': {
      const shapes: Shape[] = [];
      for (let i = 0; i < rng.int(4, 9); i++) {
        const bx = x + rng.uniform(-0.12, 0.12) * size;
        const h = size * rng.uniform(0.12, 0.3);
        shapes.push({
          kind: 'polygon',
          points: [
            [bx - size * 0.012, size],
            [bx + rng.uniform(-0.05, 0.05) * size, size - h],
            [bx + size * 0.012, size],
          ],
        });
      }
      return [{ shapes, colour: rng.pick(FOLIAGE) }];
    }
    case 'post': {
      const w = size * rng.uniform(0.025, 0.045);
      return [
        {
          shapes: [{ kind: 'capsule', a: [x, size + w], b: [x, size * rng.uniform(0.2, 0.6)], ra: w, rb: w }],
          colour: rng.pick(WOOD),
        },
      ];
    }
  }
}
