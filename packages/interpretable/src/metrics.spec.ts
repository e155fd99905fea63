import { selectBackend } from '@transplant/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { locationInstability, partInterpretability, upsampledMask, type FeatureMaps } from './metrics';

beforeAll(async () => {
  await selectBackend({ requested: 'wasm', env: {} });
});

const geometry16 = { scale: 8, offset: 4, mapSize: [2, 2] as const, imageSize: [16, 16] as const };

describe('location instability', () => {
  // Two filters over three images of a 2×2 map. Filter 0 peaks at cells 0, 3, 1 with scores 3, 2, 1;
  // filter 1 never fires.
  const values = new Float32Array(3 * 4 * 2);
  values[(0 * 4 + 0) * 2] = 3;
  values[(1 * 4 + 3) * 2] = 2;
  values[(2 * 4 + 1) * 2] = 1;
  const maps: FeatureMaps = { values, shape: [3, 2, 2, 2] };
  const diagonal = Math.hypot(16, 16);

  it('is the std (N−1) over the top-N images of the peak-to-landmark distance over the diagonal, averaged over landmarks', () => {
    // Peaks at (4,4), (12,12), (12,4); a landmark at (4,4) in every image: d = 0, √128/√512 = 0.5, 8/√512.
    const d = [0, 0.5, 8 / diagonal];
    const mean = (d[0]! + d[1]! + d[2]!) / 3;
    const std3 = Math.sqrt(d.reduce((s, v) => s + (v - mean) ** 2, 0) / 2);
    const at = [4, 4] as const;
    const all = locationInstability(maps, geometry16, [[at, at, at]], { topN: 100, diagonal, minFiring: 3 });
    expect(all.perFilter[0]).toBeCloseTo(std3, 6);
    expect(Number.isNaN(all.perFilter[1])).toBe(true);
    expect(all.silent).toBe(1);
    expect(all.active).toBe(1);
    expect(all.activeFilters).toEqual([true, false]);
    expect(all.mean).toBeCloseTo(std3, 6);
    expect(all.meanAll).toBeCloseTo(std3, 6);
    // By default a filter must fire on topN images to count in the mean: here it fires on 3 < 100.
    const strict = locationInstability(maps, geometry16, [[at, at, at]], { topN: 100, diagonal });
    expect([strict.active, Number.isNaN(strict.mean), strict.meanAll]).toEqual([0, true, all.meanAll]);
    expect(strict.activeFilters).toEqual([false, false]);
    // Top 2 by score: images 0 and 1 → std of [0, 0.5].
    expect(
      locationInstability(maps, geometry16, [[at, at, at]], { topN: 2, diagonal }).perFilter[0],
    ).toBeCloseTo(Math.SQRT1_2 * 0.5, 6);
    // A hidden landmark skips the image: images 0 and 2 → std of [0, 8/√512]; a second landmark is averaged in.
    const two = locationInstability(
      maps,
      geometry16,
      [
        [at, null, at],
        [
          [12, 12],
          [12, 12],
          [12, 12],
        ],
      ],
      { topN: 100, diagonal },
    );
    const second = [0.5, 0, 8 / diagonal];
    const m2 = (second[0]! + second[1]! + second[2]!) / 3;
    const std2 = Math.sqrt(second.reduce((s, v) => s + (v - m2) ** 2, 0) / 2);
    expect(two.perFilter[0]).toBeCloseTo((Math.SQRT1_2 * (8 / diagonal) + std2) / 2, 6);
  });
});

describe('part interpretability', () => {
  it('upsamples bilinearly with cell centres at their image positions, then thresholds', () => {
    const maps: FeatureMaps = { values: Float32Array.from([0, 10, 0, 0]), shape: [1, 2, 2, 1] };
    const mask = upsampledMask(maps, 0, 0, { scale: 2, offset: 1, mapSize: [2, 2], imageSize: [4, 4] }, 5);
    expect(Array.from(mask)).toEqual([0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('scores a filter by the share of images where its top-quantile region overlaps a part with IoU > 0.2', () => {
    // Image 0: the filter fires everywhere; image 1: nowhere. Part 1 is the top-left 2×2 of both
    // images (IoU 4/16 = 0.25 in image 0), part 2 one pixel of image 0 only (IoU 1/16).
    const maps: FeatureMaps = {
      values: Float32Array.from([10, 10, 10, 10, 0, 0, 0, 0]),
      shape: [2, 2, 2, 1],
    };
    const labels0 = Uint8Array.from([1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0]);
    const labels1 = Uint8Array.from([1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    const result = partInterpretability(
      maps,
      { scale: 2, offset: 1, mapSize: [2, 2], imageSize: [4, 4] },
      [labels0, labels1],
      [1, 2],
      { quantile: 0.5, iou: 0.2 },
    );
    // Part 1 shows in both images and hits in one: 0.5; part 2 shows in image 0 only and misses: 0.
    expect(result.perFilter).toEqual([{ part: 1, score: 0.5 }]);
    expect(result.mean).toBe(0.5);
  });
});
