import { describe, expect, it } from 'vitest';
import { Rng } from '@transplant/data';
import {
  bootstrapInterval,
  packOutcomes,
  pairedComparison,
  statistic,
  unpackOutcomes,
  type Measurement,
  type Run,
} from './stats';

/** `units` units × `seeds` seeds of `images` 0/1 outcomes, each wrong with probability `rate`. */
function draw(rate: number, options: { units: number; seeds: number; images: number; key: string }) {
  const rng = new Rng(options.key);
  return Array.from({ length: options.units }, () =>
    Array.from({ length: options.seeds }, (_, s) => ({
      seed: s + 1,
      wrong: Array.from({ length: options.images }, () => (rng.chance(rate) ? 1 : 0)),
    })),
  );
}

describe('stats', () => {
  it('the bootstrap interval holds the statistic and narrows with more images', () => {
    const small = draw(0.1, { units: 2, seeds: 3, images: 50, key: 'small' });
    const large = draw(0.1, { units: 2, seeds: 3, images: 2000, key: 'large' });
    const a = bootstrapInterval(small);
    const b = bootstrapInterval(large);
    expect(a.mean).toBe(statistic(small));
    expect(a.low).toBeLessThan(a.mean);
    expect(a.high).toBeGreaterThan(a.mean);
    expect(b.high - b.low).toBeLessThan((a.high - a.low) / 3);
    expect(b.low).toBeLessThan(0.1);
    expect(b.high).toBeGreaterThan(0.1);
  });

  it('resamples seeds too: runs that disagree widen the interval beyond the images’ own spread', () => {
    const agree: Measurement = [[0.2, 0.2, 0.2].map((r, s) => ({ seed: s, wrong: stripe(r, 400) }))];
    const disagree: Measurement = [[0.05, 0.2, 0.35].map((r, s) => ({ seed: s, wrong: stripe(r, 400) }))];
    const a = bootstrapInterval(agree);
    const d = bootstrapInterval(disagree);
    expect(d.mean).toBeCloseTo(a.mean, 10);
    expect(d.high - d.low).toBeGreaterThan(2 * (a.high - a.low));
  });

  it('a paired comparison resolves a real difference and not a null one', () => {
    const base = draw(0.1, { units: 3, seeds: 3, images: 400, key: 'base' });
    const worse = base.map((runs) =>
      runs.map((r) => ({ ...r, wrong: r.wrong.map((w, i) => (i % 10 === 0 ? 1 : w)) })),
    );
    const real = pairedComparison(base, worse);
    expect(real.difference.mean).toBeLessThan(-0.05);
    expect(real.difference.high).toBeLessThan(0);
    expect(real.shareNotLower).toBe(0);
    const twin = draw(0.1, { units: 3, seeds: 3, images: 400, key: 'twin' });
    const none = pairedComparison(base, twin);
    expect(none.difference.low).toBeLessThan(0);
    expect(none.difference.high).toBeGreaterThan(0);
    expect(() => pairedComparison(base, draw(0.1, { units: 3, seeds: 2, images: 400, key: 'x' }))).toThrow(
      RangeError,
    );
  });

  it('shared images: units and seeds scored on one test set keep their correlation in the interval', () => {
    const wrong = stripe(0.25, 400);
    const one: Run[][] = [[1, 2, 3].map((seed) => ({ seed, wrong }))];
    const twice: Run[][] = [one[0]!, one[0]!];
    const width = (i: { low: number; high: number }) => i.high - i.low;
    // The same outcomes counted twice say nothing new: with shared draws the interval is unchanged…
    expect(bootstrapInterval(twice, 's', { sharedImages: true })).toEqual(
      bootstrapInterval(one, 's', { sharedImages: true }),
    );
    // …while drawing each run's images apart treats them as new photos and narrows it.
    expect(width(bootstrapInterval(twice, 's'))).toBeLessThan(0.85 * width(bootstrapInterval(one, 's')));
    expect(width(bootstrapInterval(one, 's', { sharedImages: true }))).toBeGreaterThan(0.06);
    // Paired arms on the same images: a difference of exactly 0 stays exactly 0.
    const same = pairedComparison(twice, twice, 'p', { sharedImages: true });
    expect([same.difference.low, same.difference.high]).toEqual([0, 0]);
    expect(() =>
      bootstrapInterval([[{ seed: 1, wrong }], [{ seed: 1, wrong: wrong.slice(1) }]], 's', {
        sharedImages: true,
      }),
    ).toThrow(RangeError);
  });

  it('packs outcomes four to a hex digit and back', () => {
    const wrong = [1, 0, 0, 1, 1, 1, 0];
    expect(packOutcomes(wrong)).toBe('9c');
    expect(unpackOutcomes('9c', 7)).toEqual(wrong);
  });
});

/** `n` outcomes with exactly round(rate·n) wrong, spread evenly. */
function stripe(rate: number, n: number): number[] {
  const k = Math.round(rate * n);
  return Array.from({ length: n }, (_, i) =>
    Math.floor(((i + 1) * k) / n) > Math.floor((i * k) / n) ? 1 : 0,
  );
}
