import { createCanvas, type Canvas } from '@napi-rs/canvas';
import type {
  Annotation,
  PartAnnotation,
  SampleCategory,
  TextureAnnotation,
  TextureRegion,
} from '../annotation';
import { CATEGORIES, type BodyPart, type Texture } from '../categories';
import { PART_NAMES, partLabel, type PartName } from '../parts';
import { paintShapes, type Ctx } from './paint';
import { Rng } from './rng';
import { paintBackground, sampleOccluders, type Occluder } from './scene';
import { leavesImage, rasterize, transformShape, type Pose, type Shape } from './shapes';

export interface RenderedSample {
  readonly width: number;
  readonly height: number;
  /** RGB, row-major, 3 bytes a pixel. */
  readonly rgb: Uint8Array;
  /** Per pixel: 0 for no object, else the label of the visible part (PART_NAMES index + 1). */
  readonly labels: Uint8Array;
  readonly annotation: Annotation;
  /** Per pixel: 1 where the river behind the animal shows (absent when the scene has none). */
  readonly river?: Uint8Array;
  /**
   * The coat textures (stripes, spots) and where they show. Every rendered image has it (no
   * regions when the coat is plain or there is no animal); images from elsewhere (CUB, photos)
   * have none, and absent means "not annotated", not "no texture".
   */
  readonly textures?: TextureAnnotation;
}

interface Placed {
  readonly pose: Pose;
  readonly parts: readonly BodyPart[];
  readonly occluders: readonly Occluder[];
  readonly labels: Uint8Array;
  readonly truncated: boolean;
}

/** Samples where the animal stands and what hides it until enough of it is visible (deterministic retries). */
function place(rng: Rng, category: Exclude<SampleCategory, 'background'>, size: number): Placed {
  const spec = CATEGORIES[category];
  let best: Placed | undefined;
  let bestArea = -1;
  for (let attempt = 0; attempt < 8; attempt++) {
    const local = spec.build(rng.fork('body'));
    const nearEdge = rng.chance(0.2);
    const pose: Pose = {
      scale: size * rng.uniform(0.34, 0.56) * (spec.relativeSize ?? 1),
      angle: rng.normal(0, 0.1),
      mirror: rng.chance(0.5),
      tx: size * (nearEdge ? rng.uniform(0.08, 0.92) : rng.uniform(0.3, 0.7)),
      ty: size * rng.uniform(0.4, 0.6),
    };
    const parts = local.map((p) => ({ ...p, shapes: p.shapes.map((s) => transformShape(s, pose)) }));
    const occluders = sampleOccluders(rng, size);
    const labels = new Uint8Array(size * size);
    for (const p of parts) rasterize(p.shapes, labels, size, size, partLabel(p.part));
    const full = countNonZero(labels);
    const all = parts.flatMap((p) => p.shapes);
    const total = leavesImage(all, size, size) ? wholeArea(all, size) : full;
    const truncated = full < total;
    for (const o of occluders) rasterize(o.shapes, labels, size, size, 0);
    const visible = countNonZero(labels);
    const candidate = { pose, parts, occluders, labels, truncated };
    // Keep animals mostly visible: at least 55% of the body and its torso showing.
    const torsoShowing = labels.includes(partLabel('torso'));
    if (visible >= 0.55 * total && torsoShowing) return candidate;
    if (visible > bestArea) [best, bestArea] = [candidate, visible];
  }
  return best!;
}

/** The animal's area in pixels as if the image were unbounded (a 3× canvas around it). */
function wholeArea(shapes: readonly Shape[], size: number): number {
  const shifted = shapes.map((s) =>
    transformShape(s, { scale: 1, angle: 0, mirror: false, tx: size, ty: size }),
  );
  const grid = new Uint8Array(size * size * 9);
  rasterize(shifted, grid, size * 3, size * 3, 1);
  return countNonZero(grid);
}

function countNonZero(a: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== 0) n++;
  return n;
}

function annotate(
  labels: Uint8Array,
  size: number,
  category: SampleCategory,
  placed: Placed | undefined,
): Annotation {
  const parts: Partial<Record<PartName, PartAnnotation>> = {};
  if (placed === undefined || category === 'background') {
    return {
      category,
      width: size,
      height: size,
      box: null,
      parts,
      facing: null,
      truncated: false,
      occluded: false,
    };
  }
  const n = PART_NAMES.length + 1;
  const area = new Float64Array(n);
  const sx = new Float64Array(n);
  const sy = new Float64Array(n);
  let [x0, y0, x1, y1] = [size, size, 0, 0];
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const v = labels[y * size + x]!;
      if (v === 0) continue;
      area[v]! += 1;
      sx[v]! += x + 0.5;
      sy[v]! += y + 0.5;
      [x0, y0, x1, y1] = [Math.min(x0, x), Math.min(y0, y), Math.max(x1, x + 1), Math.max(y1, y + 1)];
    }
  }
  for (const part of CATEGORIES[category].parts) {
    const v = partLabel(part);
    const a = area[v]!;
    parts[part] = {
      area: a,
      visible: a > 0,
      centre: a > 0 ? centreOnMask(labels, size, v, sx[v]! / a, sy[v]! / a) : null,
    };
  }
  const occluded = placed.occluders.length > 0;
  return {
    category,
    width: size,
    height: size,
    box: x1 > x0 ? [x0, y0, x1, y1] : null,
    parts,
    facing: placed.pose.mirror ? 'left' : 'right',
    truncated: placed.truncated,
    occluded,
  };
}

/** The centroid if it falls on the part, else the part's pixel nearest to it (masks can be non-convex). */
function centreOnMask(labels: Uint8Array, size: number, v: number, cx: number, cy: number): [number, number] {
  const fx = Math.floor(cx);
  const fy = Math.floor(cy);
  if (fx >= 0 && fy >= 0 && fx < size && fy < size && labels[fy * size + fx] === v) return [cx, cy];
  let best: [number, number] = [cx, cy];
  let bestD = Infinity;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] !== v) continue;
    const px = (i % size) + 0.5;
    const py = Math.floor(i / size) + 0.5;
    const d = (px - cx) ** 2 + (py - cy) ** 2;
    if (d < bestD) [best, bestD] = [[px, py], d];
  }
  return best;
}

/**
 * The texture annotation of a placed animal: which body part shows at each pixel (drawn in
 * order, then what stands in front removed, as the labels are made), and per textured part the
 * pixels inside both its shapes (the clip) and one of its marks. One region per texture: parts
 * sharing a coat texture (torso and head, say) make one region.
 */
function annotateTextures(
  placed: Placed | undefined,
  marks: readonly (readonly Shape[])[],
  size: number,
): TextureAnnotation {
  const regions = new Uint8Array(size * size);
  const markMap = new Uint8Array(size * size);
  const list: { kind: TextureRegion['kind']; parts: TextureRegion['parts'][number][] }[] = [];
  if (!placed) return { regions, marks: markMap, list: [] };
  const owner = new Uint8Array(size * size);
  placed.parts.forEach((p, i) => rasterize(p.shapes, owner, size, size, i + 1));
  for (const o of placed.occluders) rasterize(o.shapes, owner, size, size, 0);
  const byTexture = new Map<Texture, number>();
  const clip = new Uint8Array(size * size);
  const inMark = new Uint8Array(size * size);
  placed.parts.forEach((p, i) => {
    const texture = p.texture;
    if (texture.kind === 'plain') return;
    let r = byTexture.get(texture);
    if (r === undefined) {
      r = list.push({ kind: texture.kind, parts: [] });
      byTexture.set(texture, r);
    }
    const region = list[r - 1]!;
    if (!region.parts.includes(p.part)) region.parts.push(p.part);
    clip.fill(0);
    inMark.fill(0);
    rasterize(p.shapes, clip, size, size, 1);
    rasterize(marks[i] ?? [], inMark, size, size, 1);
    for (let q = 0; q < owner.length; q++) {
      if (owner[q] !== i + 1) continue;
      regions[q] = r;
      markMap[q] = clip[q]! & inMark[q]!;
    }
  });
  return { regions, marks: markMap, list: countTextures(list, regions, markMap) };
}

/** The regions' visible areas, counted on the maps. */
export function countTextures(
  list: readonly Pick<TextureRegion, 'kind' | 'parts'>[],
  regions: Uint8Array,
  marks: Uint8Array,
): TextureRegion[] {
  const area = new Float64Array(list.length + 1);
  const markArea = new Float64Array(list.length + 1);
  for (let q = 0; q < regions.length; q++) {
    area[regions[q]!]! += 1;
    markArea[regions[q]!]! += marks[q]!;
  }
  return list.map((t, i) => ({
    kind: t.kind,
    parts: [...t.parts],
    area: area[i + 1]!,
    markArea: markArea[i + 1]!,
  }));
}

function clampByte(v: number): number {
  return v <= 0 ? 0 : v >= 255 ? 255 : Math.floor(v);
}

function light(ctx: Ctx, rng: Rng, size: number): void {
  const angle = rng.uniform(0, Math.PI * 2);
  const dx = Math.cos(angle) * size;
  const dy = Math.sin(angle) * size;
  const g = ctx.createLinearGradient(
    size / 2 - dx / 2,
    size / 2 - dy / 2,
    size / 2 + dx / 2,
    size / 2 + dy / 2,
  );
  g.addColorStop(0, `rgba(0,0,0,${rng.uniform(0, 0.35).toFixed(3)})`);
  g.addColorStop(1, `rgba(255,255,255,${rng.uniform(0, 0.2).toFixed(3)})`);
  ctx.fillStyle = g;
  ctx.fillRect(0, 0, size, size);
}

/**
 * Renders synthetic images of one size. Holds its canvas, so reuse one renderer for many
 * images; every image depends only on (category, seed, size).
 */
export class SampleRenderer {
  private readonly canvas: Canvas;
  private readonly ctx: Ctx;

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 16 || size > 1024)
      throw new RangeError(`image size ${size}: use an integer in 16…1024`);
    this.canvas = createCanvas(size, size);
    this.ctx = this.canvas.getContext('2d');
  }

  /** `river`: force the background river in or out (default: 35 % of scenes). */
  render(category: SampleCategory, seed: string, options: { river?: boolean } = {}): RenderedSample {
    const { size, ctx } = this;
    const rng = new Rng(`${seed}:${category}:${size}`);
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.globalCompositeOperation = 'source-over';
    const { river } = paintBackground(ctx, rng.fork('background'), size, options);
    const placed = category === 'background' ? undefined : place(rng.fork('placement'), category, size);
    const marks: Shape[][] = [];
    if (placed) {
      const paintRng = rng.fork('paint');
      for (const p of placed.parts)
        marks.push(
          paintShapes(ctx, paintRng, {
            shapes: p.shapes,
            colour: p.colour,
            texture: p.texture,
            unit: placed.pose.scale,
          }),
        );
      for (const o of placed.occluders)
        paintShapes(ctx, paintRng, {
          shapes: o.shapes,
          colour: o.colour,
          texture: { kind: 'plain' },
          unit: size,
        });
    } else {
      for (const o of sampleOccluders(rng.fork('placement'), size))
        paintShapes(ctx, rng, { shapes: o.shapes, colour: o.colour, texture: { kind: 'plain' }, unit: size });
    }
    light(ctx, rng.fork('light'), size);
    const rgba = ctx.getImageData(0, 0, size, size).data;
    const rgb = new Uint8Array(size * size * 3);
    const post = rng.fork('sensor');
    const gain = post.uniform(0.8, 1.15);
    const sigma = post.uniform(0, 7);
    // Sensor noise: one 32-bit draw a pixel gives three 10-bit uniforms (≈ normal when summed).
    const scale = (sigma * 2) / 1023;
    for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) {
      const u = post.nextUint32();
      const n = ((u & 1023) + ((u >>> 10) & 1023) + ((u >>> 20) & 1023) - 1534.5) * scale + 0.5;
      rgb[j] = clampByte(rgba[i]! * gain + n);
      rgb[j + 1] = clampByte(rgba[i + 1]! * gain + n);
      rgb[j + 2] = clampByte(rgba[i + 2]! * gain + n);
    }
    const labels = placed?.labels ?? new Uint8Array(size * size);
    let riverMask: Uint8Array | undefined;
    if (river) {
      riverMask = new Uint8Array(size * size);
      rasterize([river], riverMask, size, size, 1);
      // Where the animal or something in front of it stands, the river does not show.
      for (let i = 0; i < riverMask.length; i++) if (labels[i] !== 0) riverMask[i] = 0;
      if (placed) {
        const front = new Uint8Array(size * size);
        for (const oc of placed.occluders) rasterize(oc.shapes, front, size, size, 1);
        for (let i = 0; i < riverMask.length; i++) if (front[i]) riverMask[i] = 0;
      }
    }
    return {
      width: size,
      height: size,
      rgb,
      labels,
      annotation: annotate(labels, size, category, placed),
      ...(riverMask ? { river: riverMask } : {}),
      textures: annotateTextures(placed, marks, size),
    };
  }
}
