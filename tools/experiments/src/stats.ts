import { Rng } from '@transplant/data';
import { mean } from './seed-stats';

/**
 * Intervals and paired comparisons for the experiments' tables (docs/protocol.md §Intervals).
 *
 * A measurement is a set of units (e.g. the categories of a table row), each measured under
 * the same seeds, each run scored on its own held-out images (0/1 outcomes: an image was
 * misclassified or not). The statistic is the mean over units of the mean over seeds of the
 * run's error rate. Its interval is a two-level bootstrap: seeds are drawn with replacement
 * (one draw shared by every unit, as a seed is one training + data draw), then each drawn run's
 * images are drawn with replacement. Two arms measured on the same seeds and images (e.g. BD and
 * OL of one row) are compared with the same draws applied to both: a paired bootstrap.
 */

/** One run: the seed and its images' outcomes (1 = wrong). */
export interface Run {
  readonly seed: number;
  readonly wrong: readonly number[];
}

/** The runs of each unit, keyed by seed; every unit has the same seeds. */
export type Measurement = readonly (readonly Run[])[];

export interface Interval {
  readonly mean: number;
  readonly low: number;
  readonly high: number;
}

/** Replicates of every bootstrap; enough for a stable 95 % percentile interval. */
export const BOOTSTRAP_REPLICATES = 1000;

const errorOf = (run: Run): number => mean(run.wrong);

/** The statistic itself: mean over units of the mean over seeds of each run's error. */
export function statistic(measurement: Measurement): number {
  return mean(measurement.map((runs) => mean(runs.map(errorOf))));
}

function check(measurements: readonly Measurement[]): void {
  const seeds = measurements[0]?.[0]?.map((r) => r.seed).join(',');
  for (const m of measurements)
    for (const runs of m) {
      if (runs.map((r) => r.seed).join(',') !== seeds)
        throw new RangeError(`every unit must be measured on the same seeds (${seeds})`);
    }
}

/**
 * Bootstrap replicates of each measurement's statistic, all drawn with the same seed and image
 * indices (so arms measured on the same images are paired). Returns replicates[arm][b].
 */
function replicates(
  measurements: readonly Measurement[],
  seed: string,
  options: BootstrapOptions = {},
): number[][] {
  check(measurements);
  if (options.sharedImages) return sharedReplicates(measurements, seed);
  const rng = new Rng(`bootstrap:${seed}`);
  const units = measurements[0]!.length;
  const seeds = measurements[0]![0]!.length;
  // Outcomes as bytes, [arm][unit][seed]: the inner loop below runs millions of times per table.
  const bytes = measurements.map((m) =>
    m.map((runs) =>
      runs.map((r) => {
        if (r.wrong.length !== m[0]![0]!.wrong.length && measurements.length > 1)
          throw new RangeError('paired arms must be scored on the same images');
        return Uint8Array.from(r.wrong);
      }),
    ),
  );
  for (let u = 0; u < units; u++)
    for (let s = 0; s < seeds; s++) {
      const n = bytes[0]![u]![s]!.length;
      if (bytes.some((arm) => arm[u]![s]!.length !== n))
        throw new RangeError('paired arms must be scored on the same images');
    }
  const out = measurements.map(() => new Float64Array(BOOTSTRAP_REPLICATES));
  const errors = new Float64Array(measurements.length);
  for (let b = 0; b < BOOTSTRAP_REPLICATES; b++) {
    const sums = new Float64Array(measurements.length);
    for (let k = 0; k < seeds; k++) {
      const s = rng.int(0, seeds - 1);
      for (let u = 0; u < units; u++) {
        const n = bytes[0]![u]![s]!.length;
        errors.fill(0);
        for (let i = 0; i < n; i++) {
          const pick = Math.floor(rng.next() * n);
          for (let arm = 0; arm < bytes.length; arm++) errors[arm]! += bytes[arm]![u]![s]![pick]!;
        }
        for (let arm = 0; arm < bytes.length; arm++) sums[arm]! += errors[arm]! / n;
      }
    }
    for (let arm = 0; arm < bytes.length; arm++) out[arm]![b] = sums[arm]! / (units * seeds);
  }
  return out.map((r) => Array.from(r));
}

/**
 * How the images are resampled. By default each run's images are drawn on their own (each run
 * scored on its own held-out images). `sharedImages`: every run of every unit and arm was scored
 * on the same images, in the same order (one fixed test set, e.g. the real photos). Then one
 * image draw per replicate is applied to all of them, so that the correlation between seeds,
 * units and arms that share the images is kept (drawing them apart would make the interval too
 * narrow).
 */
export interface BootstrapOptions {
  readonly sharedImages?: boolean;
}

function sharedReplicates(measurements: readonly Measurement[], seed: string): number[][] {
  const rng = new Rng(`bootstrap:${seed}`);
  const units = measurements[0]!.length;
  const seeds = measurements[0]![0]!.length;
  const n = measurements[0]![0]![0]!.wrong.length;
  const bytes = measurements.map((m) =>
    m.map((runs) =>
      runs.map((r) => {
        if (r.wrong.length !== n)
          throw new RangeError('shared images: every run must be scored on the same images');
        return Uint8Array.from(r.wrong);
      }),
    ),
  );
  const out = measurements.map(() => new Float64Array(BOOTSTRAP_REPLICATES));
  const picks = new Int32Array(n);
  for (let b = 0; b < BOOTSTRAP_REPLICATES; b++) {
    const drawn = Array.from({ length: seeds }, () => rng.int(0, seeds - 1));
    for (let i = 0; i < n; i++) picks[i] = Math.floor(rng.next() * n);
    for (let arm = 0; arm < bytes.length; arm++) {
      let sum = 0;
      for (let u = 0; u < units; u++)
        for (const s of drawn) {
          const wrong = bytes[arm]![u]![s]!;
          let errors = 0;
          for (let i = 0; i < n; i++) errors += wrong[picks[i]!]!;
          sum += errors / n;
        }
      out[arm]![b] = sum / (units * seeds);
    }
  }
  return out.map((r) => Array.from(r));
}

function percentile(sorted: readonly number[], q: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))));
  return sorted[i]!;
}

/** The statistic with its 95 % two-level bootstrap interval (seeds × images). */
export function bootstrapInterval(
  measurement: Measurement,
  seed = 'interval',
  options: BootstrapOptions = {},
): Interval {
  const reps = replicates([measurement], seed, options)[0]!.sort((a, b) => a - b);
  return { mean: statistic(measurement), low: percentile(reps, 0.025), high: percentile(reps, 0.975) };
}

export interface PairedComparison {
  /** statistic(a) − statistic(b), with its 95 % paired bootstrap interval. */
  readonly difference: Interval;
  /** The share of replicates with a − b ≥ 0: small means a is lower (better, for an error). */
  readonly shareNotLower: number;
}

/** A paired bootstrap of a − b over the same seeds and images. */
export function pairedComparison(
  a: Measurement,
  b: Measurement,
  seed = 'paired',
  options: BootstrapOptions = {},
): PairedComparison {
  const [ra, rb] = replicates([a, b], seed, options) as [number[], number[]];
  const diff = ra.map((x, i) => x - rb[i]!).sort((x, y) => x - y);
  return {
    difference: {
      mean: statistic(a) - statistic(b),
      low: percentile(diff, 0.025),
      high: percentile(diff, 0.975),
    },
    shareNotLower: diff.filter((d) => d >= 0).length / diff.length,
  };
}

/** 0/1 outcomes as a hex string (4 images a digit), for compact result files. */
export function packOutcomes(wrong: readonly number[]): string {
  let out = '';
  for (let i = 0; i < wrong.length; i += 4) {
    let digit = 0;
    for (let k = 0; k < 4; k++) digit |= (wrong[i + k] ? 1 : 0) << (3 - k);
    out += digit.toString(16);
  }
  return out;
}

/** The inverse of `packOutcomes` for `count` images. */
export function unpackOutcomes(hex: string, count: number): number[] {
  const out: number[] = [];
  for (const c of hex) {
    const digit = parseInt(c, 16);
    for (let k = 0; k < 4; k++) out.push((digit >> (3 - k)) & 1);
  }
  return out.slice(0, count);
}

/**
 * A ratio of sums over images (an error rate Σwrong/Σimages, an IoU Σintersection/Σunion) with
 * its 95 % percentile bootstrap interval over the images: one network, one seed.
 */
export function bootstrapRatio(images: readonly { a: number; b: number }[], seed = 'ratio'): Interval {
  const rng = new Rng(`bootstrap:${seed}`);
  const a = Float64Array.from(images, (c) => c.a);
  const b = Float64Array.from(images, (c) => c.b);
  const ratio = (x: number, y: number) => (y === 0 ? 1 : x / y);
  const reps = new Float64Array(BOOTSTRAP_REPLICATES);
  for (let r = 0; r < reps.length; r++) {
    let x = 0;
    let y = 0;
    for (let i = 0; i < a.length; i++) {
      const pick = Math.floor(rng.next() * a.length);
      x += a[pick]!;
      y += b[pick]!;
    }
    reps[r] = ratio(x, y);
  }
  const sorted = Array.from(reps).sort((p, q) => p - q);
  const sum = (v: Float64Array) => v.reduce((p, q) => p + q, 0);
  return { mean: ratio(sum(a), sum(b)), low: percentile(sorted, 0.025), high: percentile(sorted, 0.975) };
}
