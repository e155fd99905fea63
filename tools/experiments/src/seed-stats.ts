/**
 * Small statistics over seeds for the interpretable and explanatory-graph experiments
 * (docs/protocol.md): a 95 % t interval over per-seed values and a paired t test. Every
 * cell these experiments report is a mean over seeds (training and data seed together); its
 * interval is Student's t over those seeds, so it says how far the number moves when the
 * whole run is repeated with other seeds, not how precisely one run measured its images.
 */

export const mean = (xs: readonly number[]): number => xs.reduce((s, v) => s + v, 0) / xs.length;

/** Sample standard deviation (n − 1); NaN below two values. */
export function sd(xs: readonly number[]): number {
  if (xs.length < 2) return NaN;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((s, v) => s + (v - m) ** 2, 0) / (xs.length - 1));
}

/** ln Γ(x) for x > 0 (Lanczos, g = 7, nine coefficients; ~1e-15 relative). */
function lnGamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x);
  const z = x - 1;
  let a = c[0]!;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += c[i]! / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** The continued fraction of the incomplete beta function (modified Lentz). */
function betaFraction(x: number, a: number, b: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    const even = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + even * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + even / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    const odd = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + odd * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + odd / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const step = d * c;
    h *= step;
    if (Math.abs(step - 1) < 1e-14) break;
  }
  return h;
}

/** The regularized incomplete beta function I_x(a, b). */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(lnGamma(a + b) - lnGamma(a) - lnGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  return x < (a + 1) / (a + b + 2)
    ? (front * betaFraction(x, a, b)) / a
    : 1 - (front * betaFraction(1 - x, b, a)) / b;
}

/** Two-sided p of Student's t with `df` degrees of freedom: P(|T| ≥ |t|). */
export function tTwoSided(t: number, df: number): number {
  if (!Number.isFinite(t)) return Number.isNaN(t) ? NaN : 0;
  return incompleteBeta(df / (df + t * t), df / 2, 0.5);
}

/** The 97.5 % quantile of Student's t (the half-width factor of a 95 % interval), by bisection. */
export function tQuantile975(df: number): number {
  let lo = 0;
  let hi = 1000;
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2;
    if (tTwoSided(mid, df) > 0.05) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** A mean over seeds with its 95 % t interval (NaN bounds below two seeds). */
export interface SeedInterval {
  readonly mean: number;
  readonly low: number;
  readonly high: number;
  readonly sd: number;
  readonly n: number;
}

export function tInterval(xs: readonly number[]): SeedInterval {
  const n = xs.length;
  const m = n ? mean(xs) : NaN;
  const s = sd(xs);
  const half = n >= 2 ? (tQuantile975(n - 1) * s) / Math.sqrt(n) : NaN;
  return { mean: m, low: m - half, high: m + half, sd: s, n };
}

/** A paired t test of a against b (same seeds, or same seed × category units, in the same order). */
export interface PairedTest {
  /** Mean of a − b. */
  readonly difference: number;
  readonly t: number;
  readonly df: number;
  /** Two-sided p. */
  readonly p: number;
  readonly n: number;
}

export function pairedT(a: readonly number[], b: readonly number[]): PairedTest {
  if (a.length !== b.length) throw new RangeError(`paired test of ${a.length} against ${b.length} values`);
  const d = a.map((v, i) => v - b[i]!);
  const n = d.length;
  const m = n ? mean(d) : NaN;
  const s = sd(d);
  // Identical differences (s = 0) give an infinite t: p is 0 unless the difference is 0 too.
  const t = s === 0 ? (m === 0 ? 0 : Math.sign(m) * Infinity) : m / (s / Math.sqrt(n));
  return { difference: m, t, df: n - 1, p: n >= 2 ? (t === 0 ? 1 : tTwoSided(t, n - 1)) : NaN, n };
}

/** `mean [low, high]` at `digits`, or the mean alone below two seeds. */
export function formatInterval(x: SeedInterval, digits = 3, scale = 1): string {
  const f = (v: number) => (v * scale).toFixed(digits);
  if (Number.isNaN(x.mean)) return '–';
  return x.n >= 2 ? `${f(x.mean)} [${f(x.low)}, ${f(x.high)}]` : f(x.mean);
}

/** A p value for a table: two significant digits, `< 0.001` below. */
export const formatP = (p: number): string =>
  Number.isNaN(p) ? '–' : p < 0.001 ? '< 0.001' : p.toPrecision(2);

/**
 * A comparison of a against b in words, backed by its paired test: a direction ("lower",
 * "higher") only where p < 0.05; otherwise it says the difference is not detectable.
 */
export function comparedInWords(a: string, b: string, test: PairedTest, change: string): string {
  const evidence = `${change}, paired t test p ${formatP(test.p)}, n = ${test.n}`;
  if (!(test.p < 0.05)) return `${a} and ${b} do not differ detectably (${evidence})`;
  return `${a} is ${test.difference < 0 ? 'lower' : 'higher'} than ${b} (${evidence})`;
}
