import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '@transplant/core';
import { disposeBatch, type Batch } from './batches';
import { CATEGORY_IDS } from './categories';
import { CategoryVsRest, type CategoryVsRestOptions } from './category-vs-rest';

const SINGLE: CategoryVsRestOptions = { stream: 'spec', seed: 3, categories: ['cat'], size: 16 };
const REST = [...CATEGORY_IDS.filter((c) => c !== 'cat'), 'background'];

const hash = (t: tf.Tensor) => createHash('sha256').update(t.dataSync()).digest('hex').slice(0, 16);
const withBatch = <T>(batch: Batch, f: (b: Batch) => T): T => {
  try {
    return f(batch);
  } finally {
    disposeBatch(batch);
  }
};

describe('CategoryVsRest', () => {
  beforeAll(async () => {
    await selectBackend({ requested: 'cpu', env: {} });
  });

  it('is a function of its options: the same seed gives the same batches, another seed others', () => {
    const a = new CategoryVsRest(SINGLE);
    const b = new CategoryVsRest(SINGLE);
    const c = new CategoryVsRest({ ...SINGLE, seed: 4 });
    const [ha, hb, hc] = [a, b, c].map((d) => withBatch(d.trainBatch(2, 6, 0.5), (x) => hash(x.images)));
    expect(ha).toBe(hb);
    expect(hc).not.toBe(ha);
    // Batch `step` does not depend on the batches drawn before it (a resumed run sees the same ones).
    withBatch(a.trainBatch(0, 6, 0.5), () => undefined);
    expect(withBatch(a.trainBatch(2, 6, 0.5), (x) => hash(x.images))).toBe(ha);
    // Another stream name is another image stream.
    const other = new CategoryVsRest({ ...SINGLE, stream: 'other' });
    expect(withBatch(other.trainBatch(2, 6, 0.5), (x) => hash(x.images))).not.toBe(ha);
  });

  it('keeps the image stream of its callers (pinned)', () => {
    const data = new CategoryVsRest({ ...SINGLE, stream: 'zoo', task: 'seg', trainStream: 'cat-seg' });
    const pinned = withBatch(data.trainBatch(0, 4, 0.5), (x) => ({
      seeds: x.refs.map((r) => r.seed),
      images: hash(x.images),
      masks: hash(x.masks),
    }));
    expect(pinned).toEqual({
      seeds: PINNED_SEEDS,
      images: PINNED_IMAGES,
      masks: PINNED_MASKS,
    });
  });

  it('refuses the final test outside a final run; the final test is drawn under a name of its own', () => {
    const dev = new CategoryVsRest(SINGLE);
    for (const read of [
      () => dev.heldOut('test', { positives: 1, negatives: 0 }),
      () => dev.positives('test', 1),
      () => dev.negatives('test', 1),
    ])
      expect(read).toThrow(expect.objectContaining({ code: 'E_PROTOCOL' }));
    expect(dev.heldOut('dev', { positives: 1, negatives: 1 }).map((r) => r.seed)).toEqual([
      'spec-3:val:cat:0',
      'spec-3:val:bird:0',
    ]);
    const final = new CategoryVsRest({ ...SINGLE, finalTest: true });
    expect(final.heldOut('test', { positives: 1, negatives: 1 }).map((r) => r.seed)).toEqual([
      'spec-3:final:cat:0',
      'spec-3:final:bird:0',
    ]);
  });

  it('keeps its splits disjoint, positives before negatives spread over the rest in turn', () => {
    const data = new CategoryVsRest({ ...SINGLE, finalTest: true });
    const splits = (['train', 'dev', 'test'] as const).map((s) =>
      data.heldOut(s, { positives: 7, negatives: 9 }),
    );
    const seeds = splits.flatMap((refs) => refs.map((r) => r.seed));
    expect(new Set(seeds).size).toBe(seeds.length);
    const test = splits[2]!;
    expect(test.map((r) => r.category)).toEqual([
      ...Array(7).fill('cat'),
      ...Array.from({ length: 9 }, (_, k) => REST[k % REST.length]),
    ]);
    const training = Array.from({ length: 3 }, (_, step) =>
      withBatch(data.trainBatch(step, 8, 0.5), (b) => b.refs.map((r) => r.seed)),
    ).flat();
    expect(training.filter((s) => seeds.includes(s))).toEqual([]);
    expect(new Set(training).size).toBe(training.length);
  });

  it('draws positives at the asked share, the rest evenly; several categories each as often as the background', () => {
    const single = new CategoryVsRest({ ...SINGLE, size: 16 });
    const counts = new Map<string, number>();
    for (let step = 0; step < 20; step++)
      withBatch(single.trainBatch(step, 40, 0.3), (b) =>
        b.refs.forEach((r) => counts.set(r.category, (counts.get(r.category) ?? 0) + 1)),
      );
    expect(counts.get('cat')! / 800).toBeGreaterThan(0.25);
    expect(counts.get('cat')! / 800).toBeLessThan(0.35);
    for (const c of REST) expect(counts.get(c) ?? 0).toBeGreaterThan((800 * 0.7) / REST.length / 2);

    const multi = new CategoryVsRest({ ...SINGLE, size: 16, categories: ['cat', 'dog', 'bird'] });
    expect(multi.rest()).toEqual(['background']);
    const labels: number[] = [];
    for (let step = 0; step < 20; step++)
      withBatch(multi.trainBatch(step, 40, 0.5), (b) => {
        expect(b.labels.dtype).toBe('int32');
        labels.push(...b.labels.dataSync());
        b.refs.forEach((r, i) =>
          expect(multi.classOf(r.category)).toBe(labels.at(i - 40) === 3 ? -1 : labels.at(i - 40)),
        );
      });
    for (let k = 0; k <= 3; k++) {
      const share = labels.filter((l) => l === k).length / labels.length;
      expect(share).toBeGreaterThan(0.18);
      expect(share).toBeLessThan(0.32);
    }
    expect(multi.shares(0.5)).toEqual([0.25, 0.25, 0.25]);
    expect(multi.heldOut('dev', { positives: 2, negatives: 2 }).map((r) => r.category)).toEqual([
      'cat',
      'cat',
      'dog',
      'dog',
      'bird',
      'bird',
      'background',
      'background',
    ]);
    expect(() => new CategoryVsRest({ ...SINGLE, categories: ['cat', 'dog'], task: 'seg' })).toThrow(
      RangeError,
    );
  });

  it('labels for the task: cls 1/0 per image, seg the category mask, empty on negatives', () => {
    const refs = new CategoryVsRest(SINGLE).heldOut('dev', { positives: 2, negatives: 2 });
    const cls = new CategoryVsRest(SINGLE).imagesAndTargets(refs);
    expect(Array.from(cls.targets.dataSync())).toEqual([1, 1, 0, 0]);
    const seg = new CategoryVsRest({ ...SINGLE, task: 'seg' }).imagesAndTargets(refs);
    expect(seg.targets.shape).toEqual([4, 16, 16, 1]);
    const perImage = tf.tidy(() => Array.from(tf.sum(seg.targets, [1, 2, 3]).dataSync()));
    expect(perImage.slice(0, 2).every((v) => v > 0)).toBe(true);
    expect(perImage.slice(2)).toEqual([0, 0]);
    expect(hash(seg.images)).toBe(hash(cls.images));
    const empty = new CategoryVsRest({ ...SINGLE, task: 'seg' }).imagesAndTargets([]);
    expect([empty.images.shape, empty.targets.shape]).toEqual([
      [0, 16, 16, 3],
      [0, 16, 16, 1],
    ]);
    tf.dispose([cls.images, cls.targets, seg.images, seg.targets, empty.images, empty.targets]);
  });

  it('frees what it renders: a batch holds four tensors, images and targets two', () => {
    const data = new CategoryVsRest({ ...SINGLE, crop: true });
    const before = tf.memory().numTensors;
    const batch = data.trainBatch(0, 4, 0.5);
    expect(tf.memory().numTensors).toBe(before + 4);
    disposeBatch(batch);
    const pair = data.imagesAndTargets(data.positives('dev', 3));
    expect(tf.memory().numTensors).toBe(before + 2);
    tf.dispose([pair.images, pair.targets]);
    expect(tf.memory().numTensors).toBe(before);
  });
});

// The zoo's stream at step 0 (whatever changes these changes every zoo network's training data).
const PINNED_SEEDS = [
  'zoo-3:train:dog:0-0',
  'zoo-3:train:cat:0-1',
  'zoo-3:train:horse:0-2',
  'zoo-3:train:cat:0-3',
];
const PINNED_IMAGES = 'ef80f1a5aca1bf33';
const PINNED_MASKS = 'a832088f6994dc29';
