import { describe, expect, it } from 'vitest';
import { unitStability } from './evaluate';
import {
  filterObservations,
  fitFeatureRegressor,
  fitUnitLocator,
  locateWithUnits,
  normalizedDistance,
  predictWithFeatures,
  type Point,
  type UnitObservations,
} from './localize';

/** Observations from per-image, per-unit [x, y] positions and scores. */
function observations(pos: Point[][], score: number[][], flips?: number[]): UnitObservations {
  const n = pos.length;
  const units = pos[0]!.length;
  return {
    n,
    units,
    pos: Float64Array.from(pos.flatMap((row) => row.flatMap(([x, y]) => [y, x]))),
    score: Float64Array.from(score.flat()),
    floor: new Float64Array(units).fill(1),
    ...(flips ? { flips: Uint8Array.from(flips) } : {}),
  };
}

describe('normalized distance (docs/methods.md §1.5)', () => {
  it('divides by the crop diagonal W·√2', () => {
    expect(normalizedDistance([10, 10], [13, 14], 64)).toBeCloseTo(5 / (64 * Math.SQRT2), 12);
    expect(normalizedDistance([0, 0], [64, 64], 64)).toBeCloseTo(1, 12);
  });
});

describe('few-shot unit locator', () => {
  // Part at p*; unit 0 always 5 px left of and 2 px above it; unit 1 wanders; unit 2 is silent in image 1.
  const parts: Point[] = [
    [30, 30],
    [40, 20],
    [25, 35],
    [33, 33],
  ];
  const pos: Point[][] = parts.map(([x, y], i) => [
    [x - 5, y - 2],
    [10 + 7 * i, 50 - 3 * i],
    [x, y],
  ]);
  const score = [
    [1, 2, 1],
    [1, 2, 0],
    [1, 2, 1],
    [2, 1, 1],
  ];

  it('ranks units by mean score / (spread + floor) and keeps the exact offset of a rigid one', () => {
    const obs = observations(pos, score);
    const loc = fitUnitLocator(obs, { shots: [0, 1, 2], targets: parts, top: 1 });
    expect(loc.units).toEqual([0]); // unit 2 is perfect too, but silent in a shot
    expect(Array.from(loc.offsets)).toEqual([2, 5]); // [dy, dx]
    expect(loc.rank[0]).toBeCloseTo(1 / (0 + 1), 12);
    expect(locateWithUnits(loc, obs, 3)).toEqual([33, 33]);
  });

  it('weights the chosen units by their scores in the test image', () => {
    const obs = observations(pos, score);
    const loc = fitUnitLocator(obs, { shots: [0, 2], targets: parts, top: 2 });
    expect(loc.units).toEqual([0, 2]);
    // Both are rigid: unit 0 votes (28 + 5, 31 + 2) = (33, 33) with weight 2, unit 2 votes (33, 33) with weight 1.
    expect(locateWithUnits(loc, obs, 3)).toEqual([33, 33]);
    // Unit 1's spread: offsets (20, −20), (23, −27), (1, −9) around their mean; the rank is 2 / (rms + 1).
    const loose = fitUnitLocator(obs, { shots: [0, 1, 2], targets: parts, top: 3 });
    const d = [
      [20, -20],
      [23, -27],
      [1, -9],
    ];
    const m = [d.reduce((s, v) => s + v[0]!, 0) / 3, d.reduce((s, v) => s + v[1]!, 0) / 3];
    const rms = Math.sqrt(d.reduce((s, v) => s + (v[0]! - m[0]!) ** 2 + (v[1]! - m[1]!) ** 2, 0) / 3);
    expect(loose.units).toEqual([0, 1]);
    expect(loose.rank[1]).toBeCloseTo(2 / (rms + 1), 12);
  });

  it('keeps displacements in the units’ own frame across mirrored images', () => {
    // Image 1 is seen mirrored: the unit sits 5 px right of the part in the image, 5 px left in its frame.
    const flipped = observations([[[25, 30]], [[45, 20]], [[20, 40]]], [[1], [1], [1]], [0, 1, 1]);
    const loc = fitUnitLocator(flipped, { shots: [0, 1], targets: [[30, 32], [40, 22], null], top: 1 });
    expect(Array.from(loc.offsets)).toEqual([2, 5]);
    expect(locateWithUnits(loc, flipped, 2)).toEqual([15, 42]);
  });
});

describe('pooled-feature ridge regressor', () => {
  it('predicts the shot position from one shot, and recovers a linear map from three with a small ridge', () => {
    const features = [
      Float64Array.of(1, 0),
      Float64Array.of(0, 1),
      Float64Array.of(-1, 0),
      Float64Array.of(0.5, 0.5),
    ];
    const targets: Point[] = features.map((f) => [10 + 4 * f[0]!, 20 - 2 * f[1]!]);
    const one = fitFeatureRegressor(features, { shots: [1], targets });
    expect(predictWithFeatures(one, features[3]!)).toEqual(targets[1]);
    const three = fitFeatureRegressor(features, { shots: [0, 1, 2], targets, lambda: 1e-9 });
    const [x, y] = predictWithFeatures(three, features[3]!);
    expect(x).toBeCloseTo(targets[3]![0], 5);
    expect(y).toBeCloseTo(targets[3]![1], 5);
  });
});

describe('raw filters as units', () => {
  it('reads peaks, and in mirrored views maps them back to the image', () => {
    // One 1×3 map per view, one filter; image 0 peaks at column 2 as is, at column 0 mirrored.
    const views = [Float32Array.of(0, 1, 3), Float32Array.of(3, 1, 0)];
    const layer = { views, h: 1, w: 3, c: 1, scale: 4, offset: 2 };
    const plain = filterObservations([layer], 1);
    expect(Array.from(plain.pos)).toEqual([2, 10]);
    expect(plain.score[0]).toBe(3);
    const aligned = filterObservations([layer], 1, { flips: Uint8Array.of(1), width: 12 });
    expect(Array.from(aligned.pos)).toEqual([2, 12 - 2]);
  });
});

describe('unit stability (docs/methods.md §3.7)', () => {
  it('keeps the strongest units per layer and averages their instability over their top images', () => {
    // Two units, four images, one landmark at (0, 0); diagonal 10. Unit 0 fires strongly at distances 1, 2, 3 (top 3 of 4);
    // unit 1 is weaker and is not kept with keep = 1.
    const pos: Point[][] = [
      [
        [1, 0],
        [5, 5],
      ],
      [
        [2, 0],
        [5, 5],
      ],
      [
        [3, 0],
        [5, 5],
      ],
      [
        [9, 0],
        [5, 5],
      ],
    ];
    const score = [
      [5, 1],
      [4, 1],
      [3, 1],
      [1, 1],
    ];
    const obs = observations(pos, score);
    const landmarks = [
      [
        [0, 0],
        [0, 0],
        [0, 0],
        [0, 0],
      ] as Point[],
    ];
    const r = unitStability(obs, {
      score: obs.score,
      layerUnits: [[0, 1]],
      landmarks,
      topN: 3,
      keep: () => 1,
      diagonal: 10,
    });
    // Distances 0.1, 0.2, 0.3: std with N − 1 = 0.1.
    expect(r.perLayer[0]).toBeCloseTo(0.1, 12);
    expect(r.kept).toEqual([1]);
    const both = unitStability(obs, {
      score: obs.score,
      layerUnits: [[0, 1]],
      landmarks,
      topN: 3,
      keep: () => 2,
      diagonal: 10,
    });
    expect(both.mean).toBeCloseTo(0.05, 12); // unit 1 never moves: 0
  });
});
