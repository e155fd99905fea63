import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ModuleInstance } from '@transplant/composer';
import { selectBackend } from '@transplant/core';
import type { Batch, CategoryVsRest } from '@transplant/data';
import {
  CALIBRATION_IMAGES,
  CALIBRATION_MIXTURE,
  annotatedImages,
  annotationLine,
  labelFreeCalibration,
  labelledCalibration,
  type BridgeTeacher,
} from './bridge-calibration';
import { PRESENCE_SHARE, maskCoverage, presenceScore, type BridgeCalibration } from './teacher';
import { transplantData } from './transplant-data';

/**
 * A hand-made segmenter on 16×16 images: a pixel is "the object" where it is darker than the
 * image's mean by a margin. Its masks vary from image to image, so its own decisions split a pool.
 */
const module = (predict: (x: tf.Tensor) => tf.Tensor) =>
  ({ model: { predict } }) as unknown as ModuleInstance;
const teacher: BridgeTeacher = {
  category: module((x) => x),
  head: module((x) =>
    tf.tidy(() => {
      const grey = tf.mean(x, 3, true);
      return tf.mul(tf.sub(tf.sub(tf.mean(grey, [1, 2, 3], true), grey), 0.15), 40);
    }),
  ),
};

const LABEL_FIELDS = ['labels', 'masks', 'parts', 'annotations', 'refs'] as const;

/** The recipe's training stream, with every label-bearing field of its batches poisoned. */
function poisoned(data: CategoryVsRest) {
  const touched: string[] = [];
  const draws: { step: number; size: number; positives: number }[] = [];
  const source: Pick<CategoryVsRest, 'trainBatch'> = {
    trainBatch: (step, size, positives) => {
      draws.push({ step, size, positives });
      const batch = data.trainBatch(step, size, positives);
      const out = { images: batch.images } as Record<string, unknown>;
      for (const field of LABEL_FIELDS)
        Object.defineProperty(out, field, {
          get: () => {
            touched.push(field);
            throw new Error(`the calibration read ${field}`);
          },
        });
      return out as unknown as Batch;
    },
  };
  return { source, touched, draws };
}

describe('bridge calibration', () => {
  let data: CategoryVsRest;
  beforeAll(async () => {
    await selectBackend({ requested: 'cpu', env: {} });
    data = transplantData({ seed: 1, category: 'cat', size: 16, task: 'cls' });
  });

  it('label-free: fits on pixels of the training mixture only, never reading a label, and frees every tensor', () => {
    const { source, touched, draws } = poisoned(data);
    const before = tf.memory().numTensors;
    const c = labelFreeCalibration(teacher, source);
    expect(tf.memory().numTensors).toBe(before);
    expect(touched).toEqual([]);
    expect(draws.reduce((n, d) => n + d.size, 0)).toBe(CALIBRATION_IMAGES);
    expect(draws.every((d) => d.positives === CALIBRATION_MIXTURE)).toBe(true);
    expect(c).toMatchObject({ mode: 'label-free', images: CALIBRATION_IMAGES, annotated: 0 });

    // The fit agrees with the teacher's own decisions on the same images (recomputed here).
    const images = tf.concat(
      draws.map((d) => tf.tidy(() => data.trainBatch(d.step, d.size, d.positives).images)),
    );
    const mask = teacher.head.model.predict(images) as tf.Tensor;
    const scores = Array.from(presenceScore(mask).dataSync());
    const present = Array.from(maskCoverage(mask).dataSync()).map((s) => s >= PRESENCE_SHARE);
    tf.dispose([images, mask]);
    expect(c.present).toBe(present.filter(Boolean).length);
    // The teacher splits the pool, so the fit is not a constant.
    expect(c.present).toBeGreaterThan(20);
    expect(c.present).toBeLessThan(180);
    const agree = scores.filter((s, i) => c.scale * s + c.offset > 0 === present[i]).length;
    expect(agree / scores.length).toBeGreaterThan(0.9);
  });

  it('labelled: reads 100 + 100 dev labels, and counts all 200 as annotated', () => {
    const c = labelledCalibration(teacher, data);
    expect(c).toMatchObject({ mode: 'labelled', images: 200, annotated: 200, present: 100 });
  });

  it('counts annotated images: OL samples and labelled calibration images, never BD/KD target images', () => {
    const free = { annotated: 0 };
    const labelled = { annotated: 200 };
    expect(annotatedImages('bd', 0, free)).toBe(0);
    expect(annotatedImages('bd', 10, free)).toBe(0);
    expect(annotatedImages('kd', 10, undefined)).toBe(0);
    expect(annotatedImages('bd', 0, labelled)).toBe(200);
    expect(annotatedImages('ol', 10, undefined)).toBe(10);
    expect(annotatedImages('ol', 10, labelled)).toBe(210);
  });

  it('says the counts in words, with the negatives known by construction apart', () => {
    const c = (mode: 'label-free' | 'labelled'): BridgeCalibration => ({
      mode,
      scale: 1,
      offset: 0,
      images: 200,
      annotated: mode === 'labelled' ? 200 : 0,
      present: 90,
    });
    expect(annotationLine('bd', 0, c('label-free'), 200)).toBe(
      '0 annotated images (0 unlabelled target images, a label-free calibration on 200 unlabelled images); 200 negatives known by construction',
    );
    expect(annotationLine('bd', 0, c('labelled'), 200)).toBe(
      '200 annotated images (0 unlabelled target images, 200 labelled calibration images); 200 negatives known by construction',
    );
    expect(annotationLine('ol', 10, undefined, 200)).toBe(
      '10 annotated images (10 annotated samples); 200 negatives known by construction',
    );
  });
});
