import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '@transplant/core';
import { batches, disposeBatch } from './batches';
import { PART_NAMES } from './parts';
import { SyntheticSet } from './synthetic-set';

const set = new SyntheticSet({
  seed: 7,
  size: 32,
  categories: ['cat', 'dog', 'bird'],
  perCategory: { train: 4, dev: 2, test: 3 },
  negatives: { train: 3, dev: 1, test: 2 },
});

describe('SyntheticSet', () => {
  it('lays out each split as categories then backgrounds, each item with its own seed', () => {
    expect(set.length('train')).toBe(15);
    expect(set.items('train').map((r) => r.category)).toEqual([
      ...Array(4).fill('cat'),
      ...Array(4).fill('dog'),
      ...Array(4).fill('bird'),
      ...Array(3).fill('background'),
    ]);
    const seeds = new Set(
      ['train', 'dev', 'test'].flatMap((s) => set.items(s as 'train').map((r) => r.seed)),
    );
    expect(seeds.size).toBe(15 + 7 + 11);
    expect(() => set.item('dev', 7)).toThrow(RangeError);
    expect(() => new SyntheticSet({ seed: 1, categories: ['unicorn' as 'cat'] })).toThrow(
      /unknown categories unicorn/,
    );
  });
});

describe('batches', () => {
  beforeAll(async () => {
    await selectBackend({ requested: 'cpu', env: {} });
  });

  it('yields binary batches with tensors of the documented shapes and frees them', () => {
    const before = tf.memory().numTensors;
    const seen: number[] = [];
    for (const b of batches(set, {
      split: 'train',
      mode: { kind: 'binary', category: 'dog' },
      batchSize: 4,
    })) {
      expect(b.images.shape).toEqual([b.refs.length, 32, 32, 3]);
      expect(b.masks.shape).toEqual([b.refs.length, 32, 32, 1]);
      expect(b.parts.shape).toEqual([b.refs.length, PART_NAMES.length, 3]);
      const max = tf.max(b.images);
      expect(max.dataSync()[0]).toBeLessThanOrEqual(1);
      max.dispose();
      seen.push(...(b.labels.dataSync() as Float32Array));
      disposeBatch(b);
    }
    expect(seen).toEqual(set.items('train').map((r) => (r.category === 'dog' ? 1 : 0)));
    expect(tf.memory().numTensors).toBe(before);
  });

  it('renders the same batch bytes from two instances of the same set', () => {
    const hash = (s: SyntheticSet) => {
      const h = createHash('sha256');
      for (const b of batches(s, { split: 'dev', mode: { kind: 'multiclass' }, batchSize: 4 })) {
        h.update(b.images.dataSync() as Float32Array)
          .update(b.masks.dataSync() as Float32Array)
          .update(b.parts.dataSync() as Float32Array);
        disposeBatch(b);
      }
      return h.digest('hex');
    };
    const again = new SyntheticSet({ ...set.options });
    expect(hash(again)).toBe(hash(set));
    expect(hash(new SyntheticSet({ ...set.options, seed: 8 }))).not.toBe(hash(set));
  });

  it('labels multiclass batches by category index, backgrounds last, and shuffles deterministically', () => {
    const run = () => {
      const labels: number[] = [];
      for (const b of batches(set, {
        split: 'test',
        mode: { kind: 'multiclass' },
        batchSize: 5,
        shuffle: 3,
      })) {
        expect(b.labels.dtype).toBe('int32');
        labels.push(...b.labels.dataSync());
        disposeBatch(b);
      }
      return labels;
    };
    const labels = run();
    expect(labels).toEqual(run());
    expect([...labels].sort()).toEqual([0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3]);
    expect(labels).not.toEqual([0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3]);
  });

  it('gives per-category segmentation masks that match the annotations', () => {
    let count = 0;
    for (const b of batches(set, {
      split: 'dev',
      mode: { kind: 'segmentation', category: 'bird' },
      batchSize: 8,
    })) {
      expect(b.refs.every((r) => r.category === 'bird')).toBe(true);
      const sums = tf.sum(b.masks, [1, 2, 3]);
      const areas = b.annotations.map((a) => Object.values(a.parts).reduce((n, p) => n + p.area, 0));
      expect(Array.from(sums.dataSync())).toEqual(areas);
      sums.dispose();
      count += b.refs.length;
      disposeBatch(b);
    }
    expect(count).toBe(2);
  });
});

describe('a background river on demand', () => {
  it('forces the river in or out per category, with a mask of where it shows, and leaves default scenes as they were', () => {
    const plain = new SyntheticSet({
      seed: 'rivers',
      size: 48,
      categories: ['bird'],
      perCategory: { train: 6 },
      negatives: { train: 6 },
    });
    const forced = new SyntheticSet({
      seed: 'rivers',
      size: 48,
      categories: ['bird'],
      perCategory: { train: 6 },
      negatives: { train: 6 },
      rivers: { bird: true, background: false },
    });
    expect(forced.describe()).toContain('rivers={"bird":true,"background":false}');
    let defaultRivers = 0;
    for (const ref of plain.items('train')) {
      const a = plain.render(ref);
      const b = forced.render(ref);
      if (a.river) defaultRivers++;
      if (ref.category === 'bird') {
        expect(b.river).toBeDefined();
        const shows = b.river!.reduce((s, v) => s + v, 0);
        expect(shows).toBeGreaterThan(0);
        // Never under the animal.
        for (let i = 0; i < b.labels.length; i++) if (b.labels[i]) expect(b.river![i]).toBe(0);
        // The animal is placed and annotated as without the river.
        expect(b.annotation.box).toEqual(a.annotation.box);
      } else {
        expect(b.river).toBeUndefined();
      }
      // A scene whose river was drawn anyway is the same picture.
      if (a.river && ref.category === 'bird')
        expect(Buffer.from(b.rgb).equals(Buffer.from(a.rgb))).toBe(true);
    }
    expect(defaultRivers).toBeLessThan(12);
  });
});
