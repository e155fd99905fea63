import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CATEGORIES, CATEGORY_IDS } from '../categories';
import { PART_NAMES, partLabel } from '../parts';
import { SampleRenderer, type RenderedSample } from './render-sample';

const digest = (s: RenderedSample) =>
  createHash('sha256').update(s.rgb).update(s.labels).update(JSON.stringify(s.annotation)).digest('hex');

function checkConsistency(s: RenderedSample): void {
  const { annotation: a, labels, width } = s;
  const object = labels.reduce((n, v) => n + (v > 0 ? 1 : 0), 0);
  if (a.category === 'background') {
    expect(object).toBe(0);
    expect(a.box).toBeNull();
    return;
  }
  expect(Object.keys(a.parts).sort()).toEqual([...CATEGORIES[a.category].parts].sort());
  let partArea = 0;
  for (const [name, p] of Object.entries(a.parts)) {
    const label = partLabel(name as (typeof PART_NAMES)[number]);
    const count = labels.reduce((n, v) => n + (v === label ? 1 : 0), 0);
    expect(p.area).toBe(count);
    expect(p.visible).toBe(count > 0);
    partArea += count;
    if (p.centre) {
      // Every visible part centre lies inside its part mask.
      expect(labels[Math.floor(p.centre[1]) * width + Math.floor(p.centre[0])]).toBe(label);
    } else {
      expect(p.visible).toBe(false);
    }
  }
  // Part masks partition the object mask (so each lies inside it), and the box is tight around it.
  expect(partArea).toBe(object);
  expect(object).toBeGreaterThan(0);
  const [x0, y0, x1, y1] = a.box!;
  let [bx0, by0, bx1, by1] = [Infinity, Infinity, -Infinity, -Infinity];
  labels.forEach((v, i) => {
    if (v === 0) return;
    const [x, y] = [i % width, Math.floor(i / width)];
    [bx0, by0, bx1, by1] = [Math.min(bx0, x), Math.min(by0, y), Math.max(bx1, x + 1), Math.max(by1, y + 1)];
  });
  expect([x0, y0, x1, y1]).toEqual([bx0, by0, bx1, by1]);
}

describe('the synthetic renderer', () => {
  it('gives byte-identical images and annotations for the same seed, in a fresh renderer too', () => {
    const a = new SampleRenderer(64);
    const b = new SampleRenderer(64);
    for (const c of [...CATEGORY_IDS, 'background'] as const) {
      const first = digest(a.render(c, 'det-1'));
      a.render(c, 'something-else');
      expect(digest(a.render(c, 'det-1'))).toBe(first);
      expect(digest(b.render(c, 'det-1'))).toBe(first);
      expect(digest(a.render(c, 'det-2'))).not.toBe(first);
    }
  });

  it('renders the same bytes in another process', async () => {
    const { execFile } = await import('node:child_process');
    const { promisify } = await import('node:util');
    const script = [
      "import { createHash } from 'node:crypto';",
      "import { SampleRenderer } from './packages/data/src/render/render-sample.ts';",
      "const s = new SampleRenderer(64).render('cow', 'det-1');",
      'console.log(createHash("sha256").update(s.rgb).update(s.labels).update(JSON.stringify(s.annotation)).digest("hex"));',
    ].join('\n');
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      {
        cwd: new URL('../../../..', import.meta.url).pathname,
      },
    );
    expect(stdout.trim()).toBe(digest(new SampleRenderer(64).render('cow', 'det-1')));
  });

  it('keeps annotations machine-independent: pinned digests of the annotations of fixed seeds', () => {
    // Annotations come from pure 32-bit JavaScript arithmetic (not Skia), so they are pinned.
    const r = new SampleRenderer(64);
    const json = CATEGORY_IDS.map((c) => JSON.stringify(r.render(c, 'pinned').annotation)).join('\n');
    expect(createHash('sha256').update(json).digest('hex').slice(0, 16)).toBe(PINNED_ANNOTATIONS);
  });

  it.each([64, 96, 40, 128])('annotations are consistent with the masks at size %i', (size) => {
    const r = new SampleRenderer(size);
    const n = size === 64 ? 12 : 3;
    for (const c of [...CATEGORY_IDS, 'background'] as const)
      for (let i = 0; i < n; i++) checkConsistency(r.render(c, `consistency-${i}`));
  });

  it('varies pose, truncation and occlusion across a category', () => {
    const r = new SampleRenderer(64);
    const samples = Array.from({ length: 60 }, (_, i) => r.render('dog', `variety-${i}`).annotation);
    expect(new Set(samples.map((s) => s.facing))).toEqual(new Set(['left', 'right']));
    expect(samples.some((s) => s.truncated)).toBe(true);
    expect(samples.some((s) => s.occluded)).toBe(true);
    expect(samples.some((s) => Object.values(s.parts).some((p) => !p.visible))).toBe(true);
  });

  it('gives categories different parts, not only different colours', () => {
    expect(CATEGORIES.bird.parts).toContain('beak');
    expect(CATEGORIES.bird.parts).toContain('wings');
    expect(CATEGORIES.bird.parts).not.toContain('front-legs');
    expect(CATEGORIES.cow.parts).toContain('horns');
    expect(CATEGORIES.cat.parts).not.toContain('horns');
    expect(CATEGORIES.rabbit.parts).not.toContain('neck');
    expect(CATEGORY_IDS).toHaveLength(8);
  });

  it('refuses sizes it cannot draw', () => {
    expect(() => new SampleRenderer(8)).toThrow(RangeError);
    expect(() => new SampleRenderer(64.5)).toThrow(RangeError);
  });
});

const PINNED_ANNOTATIONS = '9bc42729e780b9fe';
