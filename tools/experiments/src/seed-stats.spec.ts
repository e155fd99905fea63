import { describe, expect, it } from 'vitest';
import {
  comparedInWords,
  formatInterval,
  formatP,
  pairedT,
  sd,
  tInterval,
  tQuantile975,
  tTwoSided,
} from './seed-stats';

describe('statistics over seeds', () => {
  it("Student's t: the tabled 97.5 % quantiles, and p of the tabled values is 0.05", () => {
    // Tables: t(0.975; 1) = 12.706, t(0.975; 2) = 4.303, t(0.975; 10) = 2.228, t(0.975; 30) = 2.042.
    expect(tQuantile975(1)).toBeCloseTo(12.706, 2);
    expect(tQuantile975(2)).toBeCloseTo(4.303, 3);
    expect(tQuantile975(10)).toBeCloseTo(2.228, 3);
    expect(tQuantile975(30)).toBeCloseTo(2.042, 3);
    expect(tTwoSided(4.303, 2)).toBeCloseTo(0.05, 4);
    // df = 2 has a closed form: p = 1 − t / √(2 + t²).
    for (const t of [0.3, 1, 2.5, 7]) expect(tTwoSided(t, 2)).toBeCloseTo(1 - t / Math.sqrt(2 + t * t), 10);
    expect(tTwoSided(0, 5)).toBe(1);
  });

  it('a t interval over seeds: mean ± t·sd/√n, none below two seeds', () => {
    const r = tInterval([1, 2, 3]);
    expect(r.mean).toBe(2);
    expect(r.sd).toBe(1);
    expect(r.high - r.mean).toBeCloseTo((4.303 * 1) / Math.sqrt(3), 3);
    expect(r.mean - r.low).toBeCloseTo(r.high - r.mean, 12);
    expect(Number.isNaN(tInterval([5]).low)).toBe(true);
    expect(formatInterval(tInterval([5]))).toBe('5.000');
    expect(formatInterval(r, 2)).toBe('2.00 [-0.48, 4.48]');
    expect(Number.isNaN(sd([1]))).toBe(true);
  });

  it('a paired t test sees a consistent difference that an unpaired view would drown in the spread', () => {
    // Seeds differ a lot, the pairs by about 0.1 each time.
    const a = [0.5, 0.9, 1.4, 2.0];
    const b = [0.61, 0.99, 1.52, 2.09];
    const t = pairedT(a, b);
    expect(t.difference).toBeCloseTo(-0.1025, 10);
    expect(t.df).toBe(3);
    expect(t.p).toBeLessThan(0.001);
    // Differences of both signs: no evidence.
    expect(pairedT([1, 2, 3], [1.1, 1.9, 3.05]).p).toBeGreaterThan(0.5);
    // Identical differences: t is infinite and p is 0; no difference at all: p is 1.
    expect(pairedT([2, 3, 4], [1, 2, 3]).p).toBe(0);
    expect(pairedT([1, 2], [1, 2]).p).toBe(1);
    expect(() => pairedT([1], [1, 2])).toThrow(RangeError);
    expect(formatP(0.0004)).toBe('< 0.001');
    expect(formatP(0.0123)).toBe('0.012');
    expect(comparedInWords('a', 'b', pairedT(a, b), '−7 %')).toBe(
      'a is lower than b (−7 %, paired t test p < 0.001, n = 4)',
    );
    expect(comparedInWords('a', 'b', pairedT([1, 2, 3], [1.1, 1.9, 3.05]), '+0 %')).toMatch(
      /^a and b do not differ detectably \(\+0 %, paired t test p 0\.\d+, n = 3\)$/,
    );
  });
});
