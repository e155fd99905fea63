import { createCanvas } from '@napi-rs/canvas';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Texture } from '../categories';
import { CATEGORY_IDS } from '../categories';
import { objectCrop } from '../object-crop';
import { PART_NAMES } from '../parts';
import { paintShapes } from './paint';
import { SampleRenderer, type RenderedSample } from './render-sample';
import { Rng } from './rng';
import { rasterize, type Shape } from './shapes';

/** Where a texture's marks cover pixel centres inside the clip, from the marks `paintShapes` returned. */
function markMask(shapes: readonly Shape[], marks: readonly Shape[], size: number) {
  const clip = new Uint8Array(size * size);
  const inMark = new Uint8Array(size * size);
  rasterize(shapes, clip, size, size, 1);
  rasterize(marks, inMark, size, size, 1);
  return { clip, mask: clip.map((v, i) => v & inMark[i]!) };
}

/** Paints one black part with a white texture on black and compares Skia's pixels with the mark mask. */
function paintedAgainstMask(texture: Texture, seed: string) {
  const size = 64;
  const ctx = createCanvas(size, size).getContext('2d');
  ctx.fillStyle = 'rgb(0,0,0)';
  ctx.fillRect(0, 0, size, size);
  const shapes: Shape[] = [
    { kind: 'ellipse', cx: 30, cy: 34, rx: 24, ry: 14, angle: 0.3 },
    { kind: 'capsule', a: [12, 20], b: [22, 8], ra: 6, rb: 4 },
  ];
  const marks = paintShapes(ctx, new Rng(seed), { shapes, colour: [0, 0, 0], texture, unit: 40 });
  const { clip, mask } = markMask(shapes, marks, size);
  const red = ctx.getImageData(0, 0, size, size).data.filter((_, i) => i % 4 === 0);
  let inside = 0;
  let insideBright = 0;
  let interiorMismatch = 0;
  let outsideBright = 0;
  for (let y = 1; y < size - 1; y++)
    for (let x = 1; x < size - 1; x++) {
      const q = y * size + x;
      if (mask[q]) {
        inside++;
        if (red[q]! >= 128) insideBright++;
      } else if (red[q]! >= 128) outsideBright++;
      // Pixels whose 3×3 neighbourhood is all on a mark or all off, and all inside the part or all
      // outside: no edge of a mark or of the clip, so no anti-aliasing.
      let same = true;
      for (const d of [-size - 1, -size, -size + 1, -1, 1, size - 1, size, size + 1])
        same &&= mask[q + d] === mask[q] && clip[q + d] === clip[q];
      if (same && (mask[q] ? red[q]! !== 255 : red[q]! !== 0)) interiorMismatch++;
    }
  return { marks, inside, insideBright, outsideBright, interiorMismatch };
}

/** Interior pixels of a region (3×3 all in it, all on a mark or all off): no edge blending. */
function interior(s: RenderedSample, region: number): { marked: number[]; plain: number[] } {
  const t = s.textures!;
  const w = s.width;
  const marked: number[] = [];
  const plain: number[] = [];
  for (let y = 1; y < w - 1; y++)
    for (let x = 1; x < w - 1; x++) {
      const q = y * w + x;
      if (t.regions[q] !== region) continue;
      let same = true;
      for (const d of [-w - 1, -w, -w + 1, -1, 1, w - 1, w, w + 1])
        same &&= t.regions[q + d] === region && t.marks[q + d] === t.marks[q];
      if (same) (t.marks[q] ? marked : plain).push(q);
    }
  return { marked, plain };
}

const meanRgb = (s: RenderedSample, qs: readonly number[]) =>
  [0, 1, 2].map((k) => qs.reduce((t, q) => t + s.rgb[q * 3 + k]!, 0) / qs.length);

describe('texture annotations', () => {
  it('leaves the rendered pixels and masks as they were before textures were annotated (pinned digest)', () => {
    // Digest of 216 renders (8 categories and backgrounds × 6 seeds × 64 and 96 px) made at
    // c778cc4, before the renderer recorded texture marks. Pixels come from Skia, so the digest
    // is this platform's (x86-64 Linux, the prebuilt @napi-rs/canvas).
    const h = createHash('sha256');
    for (const size of [64, 96]) {
      const r = new SampleRenderer(size);
      for (const c of [...CATEGORY_IDS, 'background'] as const)
        for (let i = 0; i < 6; i++) {
          const s = r.render(c, `texture-pin-${i}`);
          h.update(s.rgb).update(s.labels);
        }
    }
    // On another platform or canvas build the renders may differ by a rounding: then so do the
    // committed zoo's training images, and this says so rather than passing quietly.
    expect(
      h.digest('hex').slice(0, 16),
      `renders differ from those of ${process.platform}-${process.arch} with this package-lock's @napi-rs/canvas, which the committed zoo was trained on`,
    ).toBe('fb23d584a946439a');
  });

  it.each([
    ['stripes', { kind: 'stripes', colour: [255, 255, 255], width: 0.06, spacing: 0.16, angle: 1.4 }],
    ['spots', { kind: 'spots', colour: [255, 255, 255], radius: 0.1, density: 0.5 }],
  ] as const)('the %s marks are the pixels the texture paints', (kind, texture) => {
    const r = paintedAgainstMask(texture, `paint-${kind}`);
    expect(r.marks.length).toBeGreaterThan(3);
    expect(r.inside).toBeGreaterThan(150);
    // Away from edges the painted pixels are exactly the mask; at edges Skia blends.
    expect(r.interiorMismatch).toBe(0);
    expect(r.insideBright / r.inside).toBeGreaterThan(0.9);
    expect(r.outsideBright).toBeLessThan(0.1 * r.inside);
  });

  it('a plain fill has no marks', () => {
    const ctx = createCanvas(16, 16).getContext('2d');
    const marks = paintShapes(ctx, new Rng('plain'), {
      shapes: [{ kind: 'ellipse', cx: 8, cy: 8, rx: 5, ry: 4, angle: 0 }],
      colour: [10, 20, 30],
      texture: { kind: 'plain' },
      unit: 16,
    });
    expect(marks).toEqual([]);
  });

  it('puts textures on the coat only: regions inside the object, marks inside regions, areas counted', () => {
    const r = new SampleRenderer(64);
    const kinds = new Set<string>();
    for (const c of [...CATEGORY_IDS, 'background'] as const)
      for (let i = 0; i < 8; i++) {
        const s = r.render(c, `texture-${i}`);
        const t = s.textures!;
        expect(t.regions).toHaveLength(64 * 64);
        if (c === 'background' || c === 'bird' || c === 'sheep') expect(t.list).toEqual([]);
        t.list.forEach((region, k) => {
          kinds.add(region.kind);
          let area = 0;
          let markArea = 0;
          t.regions.forEach((v, q) => {
            if (v !== k + 1) return;
            area++;
            markArea += t.marks[q]!;
            // Only the parts that carry the texture show it.
            expect(region.parts).toContain(PART_NAMES[s.labels[q]! - 1]);
          });
          expect([area, markArea]).toEqual([region.area, region.markArea]);
        });
        t.marks.forEach((m, q) => {
          if (m) expect(t.regions[q]).toBeGreaterThan(0);
          if (t.regions[q]) expect(s.labels[q]).toBeGreaterThan(0);
        });
      }
    expect(kinds).toEqual(new Set(['stripes', 'spots']));
  });

  it('marks the pixels whose colour differs from the plain coat: interior pixels sort by colour as the marks say', () => {
    const r = new SampleRenderer(96);
    let regions = 0;
    let agree = 0;
    let total = 0;
    for (const c of ['cat', 'cow', 'deer'] as const)
      for (let i = 0; i < 10; i++) {
        const s = r.render(c, `colour-${i}`);
        s.textures!.list.forEach((_, k) => {
          const { marked, plain } = interior(s, k + 1);
          if (marked.length < 4 || plain.length < 4) return;
          regions++;
          const [m, p] = [meanRgb(s, marked), meanRgb(s, plain)];
          for (const q of [...marked, ...plain]) {
            const px = [0, 1, 2].map((ch) => s.rgb[q * 3 + ch]!);
            const toMark = Math.hypot(...px.map((v, ch) => v - m[ch]!));
            const toPlain = Math.hypot(...px.map((v, ch) => v - p[ch]!));
            total++;
            if (toMark < toPlain === (s.textures!.marks[q] === 1)) agree++;
          }
        });
      }
    expect(regions).toBeGreaterThan(8);
    // Sensor noise and a light-coloured coat's faint marks blur a few.
    expect(agree / total).toBeGreaterThan(0.9);
  });

  it('object crops carry the texture maps, recounted; a sample without them stays without', () => {
    const s = new SampleRenderer(96).render('cow', 'texture-0');
    expect(s.textures!.list.length).toBeGreaterThan(0);
    const c = objectCrop(s, 64);
    const t = c.textures!;
    expect(t.list.map((r) => r.kind)).toEqual(s.textures!.list.map((r) => r.kind));
    expect(t.list[0]!.area).toBe(t.regions.reduce((n, v) => n + (v === 1 ? 1 : 0), 0));
    expect(t.list[0]!.area).toBeGreaterThan(0);
    t.regions.forEach((v, q) => v > 0 && expect(c.labels[q]).toBeGreaterThan(0));
    const { textures: _t, ...bare } = s;
    expect(objectCrop(bare, 64).textures).toBeUndefined();
  });
});
