import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Network, createModule, type ModuleInstance } from '@transplant/composer';
import { selectBackend, type ModuleManifest, type TaskId } from '@transplant/core';
import {
  PRESENCE_SHARE,
  fitCalibration,
  fitLabelFreeCalibration,
  linkOf,
  maskCoverage,
  presenceScore,
  resolveTeacher,
  teacherFunction,
  type SpecificNetwork,
} from './teacher';
import { tinyPlugins } from './testing/tiny-modules';

const plugins = tinyPlugins();
const published = (m: ModuleInstance, digest: string) => {
  m.published = { version: '1.0.0', digest, manifest: {} as ModuleManifest };
  return m;
};

const TINY_TASK_FAMILY: Record<TaskId, string> = { cls: 'tiny-task', seg: 'tiny-seg' };

/** A specific network `<category>-<task>` whose category module has the given weights digest. */
function specific(category: string, task: TaskId, digest: string): SpecificNetwork {
  const f = published(
    createModule(plugins, { name: `${category}-${task}-features`, family: 'tiny-category', category }),
    digest,
  );
  const g = published(
    createModule(plugins, {
      name: `${category}-${task}-head`,
      family: TINY_TASK_FAMILY[task],
    }),
    `${digest}-head`,
  );
  const network = Network.create([f, g], [{ category: f.name, task: g.name }]);
  return { network, manifest: { name: `${category}-${task}`, task } as ModuleManifest };
}

describe('teacher resolution', () => {
  beforeAll(async () => {
    await selectBackend({ requested: 'cpu', env: {} });
  });

  it('uses the --to network itself when both share the task', () => {
    const r = resolveTeacher(specific('bird', 'cls', 'b'), specific('cat', 'cls', 'c'));
    expect(r).toMatchObject({ kind: 'network', name: 'cat-cls' });
  });

  it('bridges a segmentation network to a classification student', () => {
    const r = resolveTeacher(specific('bird', 'cls', 'b'), specific('cat', 'seg', 'c'));
    expect(r).toMatchObject({ kind: 'bridge', bridge: 'seg-to-cls', name: 'cat-seg→cls' });
  });

  it('finds none for cls → seg, and refuses named teachers that do not fit, with codes', () => {
    const to = specific('cat', 'cls', 'c');
    expect(resolveTeacher(specific('bird', 'seg', 'b'), to)).toMatchObject({ kind: 'none' });
    expect(() =>
      resolveTeacher(specific('bird', 'cls', 'b'), to, specific('cat', 'cls', 'other-digest')),
    ).toThrow(expect.objectContaining({ code: 'E_TEACHER_INVALID' }));
    expect(() => resolveTeacher(specific('bird', 'seg', 'b'), to, specific('cat', 'cls', 'c'))).toThrow(
      expect.objectContaining({ code: 'E_TEACHER_INVALID' }),
    );
    expect(resolveTeacher(specific('bird', 'cls', 'b'), to, specific('cat', 'seg', 'c'))).toMatchObject({
      kind: 'bridge',
    });
  });

  it('takes specific networks only: a network with two links is an invalid argument', () => {
    const f = createModule(plugins, { name: 'cat-features', family: 'tiny-category', category: 'cat' });
    const cls = createModule(plugins, { name: 'cat-cls-head', family: 'tiny-task' });
    const seg = createModule(plugins, { name: 'cat-seg-head', family: 'tiny-seg' });
    const network = Network.create(
      [f, cls, seg],
      [
        { category: f.name, task: cls.name },
        { category: f.name, task: seg.name },
      ],
    );
    expect(() => linkOf({ network, manifest: { name: 'cat-both' } as ModuleManifest })).toThrow(
      expect.objectContaining({
        code: 'E_INVALID_ARGUMENT',
        message: expect.stringContaining('cat-both has 2 links'),
      }),
    );
    network.dispose();
  });

  it('scores presence as the log-mean-exp of the mask logits', () => {
    const logits = tf.tensor4d([0, 0, 0, Math.log(5), -1, -1, -1, -1], [2, 2, 2, 1]);
    const score = presenceScore(logits).arraySync() as number[][];
    expect(score[0]![0]).toBeCloseTo(Math.log((1 + 1 + 1 + 5) / 4), 5);
    expect(score[1]![0]).toBeCloseTo(-1, 5);
    logits.dispose();
  });

  it.each([
    [2.5, -1.5],
    [0.8, 0.6],
  ])('fits the calibration of a score by logistic regression (recovers σ(%f s + %f))', (scale, offset) => {
    // 100 labels at each of 200 scores, positives in the proportion σ(scale·s + offset) rounded to
    // a label: the maximum-likelihood fit is the generating model to within that rounding (and the
    // small ridge), so a fit off by more than 0.02 is wrong, not unlucky.
    const scores: number[] = [];
    const labels: number[] = [];
    for (let k = 0; k < 200; k++) {
      const s = -4 + (8 * k) / 199;
      const ones = Math.round(100 / (1 + Math.exp(-(scale * s + offset))));
      for (let j = 0; j < 100; j++) {
        scores.push(s);
        labels.push(j < ones ? 1 : 0);
      }
    }
    const c = fitCalibration(scores, labels);
    expect(Math.abs(c.scale - scale)).toBeLessThan(0.02);
    expect(Math.abs(c.offset - offset)).toBeLessThan(0.02);
  });

  it('keeps the calibration finite when the score separates the classes perfectly, and still ranks them', () => {
    // Presence scores of a good segmenter: absent images far below present ones, on an arbitrary scale.
    const scores = [
      ...Array.from({ length: 100 }, (_, i) => -30 + 0.05 * i),
      ...Array.from({ length: 100 }, (_, i) => -20 + 0.05 * i),
    ];
    const labels = scores.map((_, i) => (i < 100 ? 0 : 1));
    const c = fitCalibration(scores, labels);
    const logits = scores.map((s) => c.scale * s + c.offset);
    expect(logits.slice(0, 100).every((l) => l < 0)).toBe(true);
    expect(logits.slice(100).every((l) => l > 0)).toBe(true);
    // Classifier-like logits, not ±10⁸.
    expect(Math.max(...logits.map(Math.abs))).toBeLessThan(50);
  });

  it('makes the bridge a differentiable function of x on the logit scale', () => {
    const r = resolveTeacher(specific('bird', 'cls', 'b'), specific('cat', 'seg', 'c'));
    if (r.kind !== 'bridge') throw new Error('expected a bridge');
    const fn = teacherFunction(r, { scale: 2, offset: -1 });
    const x = tf.randomUniform([2, 4, 4, 3], 0, 1, 'float32', 4) as tf.Tensor4D;
    const y = fn(x);
    expect(y.shape).toEqual([2, 1]);
    const expected = tf.tidy(() => tf.add(tf.mul(presenceScore(r.head.model.apply(x) as tf.Tensor), 2), -1));
    expect(Array.from(y.dataSync())).toEqual(Array.from(expected.dataSync()));
    const g = tf.grad((input: tf.Tensor) => tf.sum(fn(input as tf.Tensor4D)))(x);
    expect(g.shape).toEqual(x.shape);
    tf.dispose([x, y, expected, g]);
  });

  it("measures each image's mask coverage as the share of pixels with a positive logit", () => {
    const logits = tf.tensor4d([1, -1, 2, -3, -1, -1, -1, 0.5], [2, 2, 2, 1]);
    expect(Array.from(maskCoverage(logits).dataSync())).toEqual([0.5, 0.25]);
    logits.dispose();
  });
});

describe('the label-free calibration', () => {
  /** Presence scores on an arbitrary scale far from 0, and the share of each mask the teacher fills. */
  const pool = (absent: number, present: number) => ({
    scores: [
      ...Array.from({ length: absent }, (_, i) => 10 + (2 * i) / absent),
      ...Array.from({ length: present }, (_, i) => 20 + (2 * i) / present),
    ],
    coverage: [
      ...Array.from({ length: absent }, (_, i) => (i % 3) * 0.01),
      ...Array.from({ length: present }, (_, i) => 0.06 + (i % 5) * 0.05),
    ],
  });

  it("puts the decision between the images the teacher's own mask calls absent and present", () => {
    const { scores, coverage } = pool(120, 80);
    const c = fitLabelFreeCalibration(scores, coverage);
    expect(c.present).toBe(80);
    const logits = scores.map((s) => c.scale * s + c.offset);
    // A stub (scale 1, offset 0) calls every image present; the fit must not.
    expect(logits.slice(0, 120).every((l) => l < 0)).toBe(true);
    expect(logits.slice(120).every((l) => l > 0)).toBe(true);
    const threshold = -c.offset / c.scale;
    expect(threshold).toBeGreaterThan(12);
    expect(threshold).toBeLessThan(20);
  });

  it('follows the teacher, not the score: an image counts present only when its mask covers PRESENCE_SHARE', () => {
    // Same scores; the teacher's masks now fill enough of the image only on the top 40 scores.
    const scores = Array.from({ length: 200 }, (_, i) => i / 10);
    const below = fitLabelFreeCalibration(
      scores,
      scores.map((_, i) => (i >= 160 ? PRESENCE_SHARE : PRESENCE_SHARE / 2)),
    );
    const above = fitLabelFreeCalibration(
      scores,
      scores.map((_, i) => (i >= 40 ? PRESENCE_SHARE : PRESENCE_SHARE / 2)),
    );
    expect(below.present).toBe(40);
    expect(above.present).toBe(160);
    expect(-below.offset / below.scale).toBeGreaterThan(14);
    expect(-above.offset / above.scale).toBeLessThan(6);
  });

  it('keeps the slope bounded when the pseudo-labels separate, as the labelled fit does', () => {
    const { scores, coverage } = pool(100, 100);
    const c = fitLabelFreeCalibration(
      scores.map((s) => s * 1e6),
      coverage,
    );
    expect(Number.isFinite(c.scale) && Number.isFinite(c.offset)).toBe(true);
    const logits = scores.map((s) => c.scale * s * 1e6 + c.offset);
    expect(Math.max(...logits.map(Math.abs))).toBeLessThan(50);
  });

  it('stays finite when the teacher calls every image absent: a constant, negative bridge', () => {
    const scores = Array.from({ length: 200 }, (_, i) => -5 + i / 50);
    const c = fitLabelFreeCalibration(
      scores,
      scores.map(() => 0),
    );
    expect(c.present).toBe(0);
    const logits = scores.map((s) => c.scale * s + c.offset);
    expect(logits.every((l) => Number.isFinite(l) && l < -3)).toBe(true);
  });
});
