import { describe, expect, it } from 'vitest';
import { Rng } from '@transplant/data';
import { partCentres, partImages, type PartImages } from '@transplant/interpretable';
import { drawPartShots } from './aog-source';
import { drawWithoutReplacement } from './evaluate';

const pool = partImages('cat', { count: 8, size: 16, crop: true, seed: 'aog-source' });
/** The same images with the head hidden in all but the first two that show it. */
function headInTwo(images: PartImages): PartImages {
  let shown = 0;
  return {
    ...images,
    samples: images.samples.map((s) => {
      const head = s.annotation.parts.head;
      if (!head?.visible || ++shown <= 2) return s;
      return {
        ...s,
        annotation: { ...s.annotation, parts: { ...s.annotation.parts, head: { ...head, visible: false } } },
      };
    }),
  };
}

describe('drawPartShots', () => {
  it("draws a part's K shots as fewShotLocalization does (drawWithoutReplacement, seed:part:k)", () => {
    const drawn = drawPartShots(pool, { k: 3, seed: 's', parts: ['head', 'torso'] });
    expect(drawn.map((d) => d.part)).toEqual(['head', 'torso']);
    for (const d of drawn) {
      const candidates = partCentres(pool, d.part as 'head').flatMap((t, i) => (t ? [i] : []));
      expect(d.shots).toEqual(drawWithoutReplacement(candidates, 3, new Rng(`s:${d.part}:3`)));
      expect(new Set(d.shots).size).toBe(3);
      for (const i of d.shots) expect(d.targets[i]).not.toBeNull();
    }
  });

  it('a named part shown in fewer than K images is an error saying how many show it; an unnamed one is left out', () => {
    const images = headInTwo(pool);
    expect(partCentres(images, 'head').filter((t) => t).length).toBe(2);
    expect(() => drawPartShots(images, { k: 3, seed: 's', parts: ['head', 'torso'] })).toThrow(
      expect.objectContaining({
        code: 'E_INVALID_ARGUMENT',
        message: expect.stringContaining('part "head" is shown in 2 of the 8 images, fewer than the 3 shots'),
      }),
    );
    expect(drawPartShots(images, { k: 2, seed: 's', parts: ['head'] })[0]!.shots).toHaveLength(2);
    const all = drawPartShots(images, { k: 3, seed: 's' });
    expect(all.map((d) => d.part)).not.toContain('head');
    expect(all.map((d) => d.part)).toContain('torso');
  });
});
