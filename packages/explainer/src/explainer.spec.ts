import * as tf from '@tensorflow/tfjs';
import { TransplantError, selectBackend } from '@transplant/core';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ModuleInstance } from '@transplant/composer';
import { Explainer, explainedLogit, explainedOutput, unitRms } from './explainer';
import { TRAINING_DEFAULTS, converged, poolScale, trainExplainer, type FeaturePool } from './train';

beforeAll(async () => {
  await selectBackend({ requested: 'wasm', env: {} });
});

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-5) => {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++)
    expect(Math.abs(a[i]! - b[i]!)).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(b[i]!)));
};

describe('explainer fusion and accounting', () => {
  it('fuses the two tracks at unit RMS each with the learned p', () => {
    const ex = new Explainer([4, 4, 3], [4, 4, 5], { filters: 6, mask: 'argmax', seed: 3, p0: 0.7 });
    const x = tf.randomUniform([2, 4, 4, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    tf.tidy(() => {
      const f = ex.forward(x);
      expect(f.p.dataSync()[0]).toBeCloseTo(0.7, 6);
      const rms = tf.sqrt(tf.mean(tf.square(unitRms(f.ordinary)), [1, 2, 3])).dataSync();
      close(rms, [1, 1]);
      const expected = tf.add(tf.mul(0.7, unitRms(f.interpretable)), tf.mul(0.3, unitRms(f.ordinary)));
      close(f.fused.dataSync(), expected.dataSync());
      expect(f.reconstruction.shape).toEqual([2, 4, 4, 5]);
      // ŷ is the decoder's output at the performer's scale.
      ex.scale = 3;
      close(
        ex.forward(x).reconstruction.dataSync(),
        tf.mul(ex.decoder.apply(f.fused) as tf.Tensor, 3).dataSync(),
      );
      ex.scale = 1;
    });
    expect(poolScale({ y: tf.tidy(() => tf.fill([2, 2, 2, 1], -2) as tf.Tensor4D) })).toBeCloseTo(2, 6);
    x.dispose();
    ex.dispose();
  });

  it('splits the decoder’s input into per-filter shares that sum to 1 and match a filter-by-filter convolution', () => {
    const ex = new Explainer([4, 4, 3], [4, 4, 5], { filters: 4, mask: 'argmax', seed: 5, p0: 0.6 });
    const x = tf.randomUniform([3, 4, 4, 3], 0, 1, 'float32', 2) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    const shares = ex.contributions(x);
    expect(tf.memory().numTensors).toBe(before + 1);
    expect(shares.shape).toEqual([3, 8]);
    close(
      tf.tidy(() => tf.sum(shares, 1).dataSync()),
      [1, 1, 1],
    );
    // Direct: filter f's term is the decoder kernel's slice f convolved with that channel alone.
    const direct = tf.tidy(() => {
      const f = ex.forward(x);
      const kernel = ex.decoder.layers[0]!.getWeights()[0]! as tf.Tensor4D;
      const codes = [
        tf.mul(f.p, unitRms(f.interpretable)),
        tf.mul(tf.sub(1, f.p), unitRms(f.ordinary)),
      ] as tf.Tensor4D[];
      const mags = codes.flatMap((code) =>
        Array.from({ length: 4 }, (_, k) =>
          tf.sum(
            tf.abs(
              tf.conv2d(
                tf.slice(code, [0, 0, 0, k], [-1, -1, -1, 1]),
                tf.slice(kernel, [0, 0, k, 0], [-1, -1, 1, -1]) as tf.Tensor4D,
                1,
                'same',
              ),
            ),
            [1, 2, 3],
          ),
        ),
      );
      const all = tf.stack(mags, 1);
      return tf.div(all, tf.sum(all, 1, true)).dataSync();
    });
    close(shares.dataSync(), direct, 1e-4);
    tf.dispose([x, shares]);
    ex.dispose();
  });

  it('splits the decision (first order) into per-filter shares that sum to 1', () => {
    const ex = new Explainer([4, 4, 3], [4, 4, 5], { filters: 4, mask: 'argmax', seed: 6, p0: 0.6 });
    const x = tf.randomUniform([2, 4, 4, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
    // A linear "logit": the sum of y, so the gradient is 1 wherever the decoder's ReLU passes.
    const upper = (y: tf.Tensor4D) => tf.sum(y, [1, 2, 3]);
    const before = tf.memory().numTensors;
    const shares = ex.decisionContributions(x, upper);
    expect(tf.memory().numTensors).toBe(before + 1);
    close(
      tf.tidy(() => tf.sum(shares, 1).dataSync()),
      [1, 1],
    );
    const direct = tf.tidy(() => {
      const f = ex.forward(x);
      const passed = tf.cast(tf.greater(f.reconstruction, 0), 'float32');
      const kernel = ex.decoder.layers[0]!.getWeights()[0]! as tf.Tensor4D;
      const codes = [
        tf.mul(f.p, unitRms(f.interpretable)),
        tf.mul(tf.sub(1, f.p), unitRms(f.ordinary)),
      ] as tf.Tensor4D[];
      const terms = codes.flatMap((code) =>
        Array.from({ length: 4 }, (_, k) =>
          tf.abs(
            tf.sum(
              tf.mul(
                passed,
                tf.conv2d(
                  tf.slice(code, [0, 0, 0, k], [-1, -1, -1, 1]),
                  tf.slice(kernel, [0, 0, k, 0], [-1, -1, 1, -1]) as tf.Tensor4D,
                  1,
                  'same',
                ),
              ),
              [1, 2, 3],
            ),
          ),
        ),
      );
      const all = tf.stack(terms, 1);
      return tf.div(all, tf.sum(all, 1, true)).dataSync();
    });
    close(shares.dataSync(), direct, 1e-4);
    tf.dispose([x, shares]);
    ex.dispose();
  });

  it('trains without labels and without leaking tensors: the reconstruction improves, β moves, the gate moves only with η', () => {
    const ex = new Explainer([4, 4, 6], [4, 4, 5], { filters: 4, mask: 'argmax', seed: 7, p0: 0.5 });
    const x = tf.randomUniform([24, 4, 4, 6], 0, 1, 'float32', 4) as tf.Tensor4D;
    // A higher layer the explainer can learn: a fixed random 3×3 conv + ReLU of x.
    const y = tf.tidy(() =>
      tf.relu(tf.conv2d(x, tf.randomNormal([3, 3, 6, 5], 0, 0.3, 'float32', 9) as tf.Tensor4D, 1, 'same')),
    ) as tf.Tensor4D;
    const pool: FeaturePool = { x, y, classes: Array.from({ length: 24 }, (_, i) => (i % 2 ? 0 : -1)) };
    const beta = ex.mask.beta.read().dataSync().slice();
    const before = tf.memory().numTensors;
    const {
      curve,
      steps,
      converged: stopped,
    } = trainExplainer(
      { explainer: ex, pool },
      {
        ...TRAINING_DEFAULTS,
        steps: 150,
        batchSize: 8,
        learningRate: 1e-2,
      },
    );
    expect(tf.memory().numTensors).toBe(before);
    expect([steps, stopped, curve.at(-1)!.step]).toEqual([150, false, 150]);
    expect(curve.at(-1)!.error).toBeLessThan(curve[0]!.error);
    // η = 0: the gate is not trained.
    expect(ex.gate()).toBe(tf.tidy(() => tf.sigmoid(tf.scalar(0)).dataSync()[0]));
    expect(Array.from(ex.mask.beta.read().dataSync())).not.toEqual(Array.from(beta));
    const withEta = new Explainer([4, 4, 6], [4, 4, 5], { filters: 4, mask: 'argmax', seed: 7, p0: 0.5 });
    trainExplainer(
      { explainer: withEta, pool },
      { ...TRAINING_DEFAULTS, steps: 20, batchSize: 8, learningRate: 1e-2, eta: 0.5 },
    );
    // With η the gate moves by about the learning rate per step, whatever else happens: the
    // reason a learned gate only counts steps (docs/methods.md §5.3).
    expect(withEta.gate()).toBeCloseTo(1 / (1 + Math.exp(-20 * 1e-2)), 2);
    tf.dispose([x, y]);
    ex.dispose();
    withEta.dispose();
  });

  it('with the decision term, the interpretable track alone learns to give the performer’s logits', () => {
    const x = tf.randomUniform([24, 4, 4, 6], 0, 1, 'float32', 5) as tf.Tensor4D;
    const y = tf.tidy(() =>
      tf.relu(tf.conv2d(x, tf.randomNormal([3, 3, 6, 5], 0, 0.3, 'float32', 10) as tf.Tensor4D, 1, 'same')),
    ) as tf.Tensor4D;
    const upper = (t: tf.Tensor4D) => tf.reshape(tf.mean(t, [1, 2, 3]), [-1, 1]);
    const logits = upper(y) as tf.Tensor2D;
    const pool: FeaturePool = {
      x,
      y,
      logits,
      classes: Array.from({ length: 24 }, (_, i) => (i % 2 ? 0 : -1)),
    };
    const gap = (ex: Explainer) =>
      tf.tidy(() => {
        const f = ex.forward(x);
        const alone = ex.decoder.apply(tf.mul(f.p, unitRms(f.interpretable))) as tf.Tensor4D;
        return tf.mean(tf.square(tf.sub(upper(alone), logits))).dataSync()[0]!;
      });
    const results = [0, 5].map((decision) => {
      const ex = new Explainer([4, 4, 6], [4, 4, 5], { filters: 4, mask: 'argmax', seed: 8, p0: 0.5 });
      const before = tf.memory().numTensors;
      trainExplainer(
        { explainer: ex, pool, upper },
        { ...TRAINING_DEFAULTS, steps: 150, batchSize: 8, learningRate: 1e-2, decision },
      );
      expect(tf.memory().numTensors).toBe(before);
      const g = gap(ex);
      ex.dispose();
      return g;
    });
    expect(results[1]).toBeLessThan(results[0]!);
    const unused = new Explainer([4, 4, 6], [4, 4, 5]);
    expect(() =>
      trainExplainer(
        { explainer: unused, pool: { x, y, classes: pool.classes } },
        { ...TRAINING_DEFAULTS, steps: 1, decision: 1 },
      ),
    ).toThrow(/decision term needs/);
    unused.dispose();
    tf.dispose([x, y, logits]);
  });

  it('measures p as the share of the held-out reconstruction the interpretable track achieves alone', () => {
    const ex = new Explainer([4, 4, 3], [4, 4, 5], { filters: 4, mask: 'argmax', seed: 11, p0: 0.5 });
    const x = tf.randomUniform([16, 4, 4, 3], 0, 1, 'float32', 12) as tf.Tensor4D;
    const y = tf.tidy(() => ex.forward(x).reconstruction);
    /** Silences one track of an explainer: its conv outputs 0 everywhere, so its code is 0 whatever x is. */
    const silence = (track: tf.Sequential) => {
      const layer = track.layers[0]!;
      const [k, b] = layer.getWeights();
      const zeros = [tf.zerosLike(k!), tf.zerosLike(b!)];
      layer.setWeights(zeros);
      tf.dispose(zeros);
    };
    const before = tf.memory().numTensors;
    const first = ex.reconstructionShare(x, y);
    expect(tf.memory().numTensors).toBe(before);
    // y is the explainer's own output: both tracks together reconstruct it exactly.
    expect(first.both).toBeLessThan(1e-10);
    expect(first.neither).toBeGreaterThan(0.05);
    // The errors behind p, recomputed directly for the interpretable-only case.
    const direct = tf.tidy(() => {
      const f = ex.forward(x);
      const ord = tf.mul(0.5, unitRms(f.ordinary));
      const code = tf.add(
        tf.mul(0.5, unitRms(f.interpretable)),
        tf.broadcastTo(tf.mean(ord, 0, true), ord.shape),
      );
      const out = ex.decoder.apply(code) as tf.Tensor;
      return tf.div(tf.mean(tf.square(tf.sub(out, y))), tf.moments(y).variance).dataSync()[0]!;
    });
    expect(first.interpretable).toBeCloseTo(direct, 6);
    expect(first.p).toBeCloseTo((first.neither - first.interpretable) / (first.neither - first.both), 6);
    expect(first.p).toBeGreaterThan(0);
    expect(first.p).toBeLessThan(1);
    silence(ex.ordinary);
    const yInt = tf.tidy(() => ex.forward(x).reconstruction);
    // Only the interpretable track is left, and y is what it makes: p = 1.
    expect(ex.reconstructionShare(x, yInt).p).toBeCloseTo(1, 6);
    ex.dispose();
    const ex2 = new Explainer([4, 4, 3], [4, 4, 5], { filters: 4, mask: 'argmax', seed: 11, p0: 0.5 });
    silence(ex2.interpretable);
    const yOrd = tf.tidy(() => ex2.forward(x).reconstruction);
    // The interpretable track is silent: nothing reconstructed by it alone, p = 0.
    expect(ex2.reconstructionShare(x, yOrd).p).toBe(0);
    // An explainer that reconstructs nothing (y unrelated to x, constant) measures p = 0, not NaN.
    const flat = tf.fill([16, 4, 4, 5], 0.3) as tf.Tensor4D;
    expect(ex2.reconstructionShare(x, flat).p).toBe(0);
    tf.dispose([x, y, yInt, yOrd, flat]);
    ex2.dispose();
  });

  it('stops when p and the dev error settle, and not before', () => {
    const flat = Array.from({ length: 5 }, (_, i) => ({ p: 0.4 + 0.001 * i, error: 0.2 - 0.002 * i }));
    const rule = { window: 4, epsilon: 0.01 };
    expect(converged(flat, rule)).toBe(true);
    expect(converged(flat.slice(1), rule)).toBe(false);
    expect(converged([{ p: 0.3, error: 0.2 }, ...flat.slice(1)], rule)).toBe(false);
    expect(converged([...flat.slice(0, 4), { p: 0.404, error: 0.185 }], rule)).toBe(false);
    // Only the last window counts: an early jump is forgotten.
    expect(converged([{ p: 0.9, error: 0.9 }, ...flat], rule)).toBe(true);
    expect(converged(flat, { window: 0, epsilon: 1 })).toBe(false);

    const x = tf.randomUniform([24, 4, 4, 6], 0, 1, 'float32', 14) as tf.Tensor4D;
    const y = tf.tidy(() =>
      tf.relu(tf.conv2d(x, tf.randomNormal([3, 3, 6, 5], 0, 0.3, 'float32', 15) as tf.Tensor4D, 1, 'same')),
    ) as tf.Tensor4D;
    const pool: FeaturePool = { x, y, classes: Array.from({ length: 24 }, (_, i) => (i % 2 ? 0 : -1)) };
    const dev = { x: tf.slice(x, 0, 12) as tf.Tensor4D, y: tf.slice(y, 0, 12) as tf.Tensor4D };
    const run = (epsilon: number) => {
      const ex = new Explainer([4, 4, 6], [4, 4, 5], { filters: 4, mask: 'argmax', seed: 16, p0: 0.5 });
      const before = tf.memory().numTensors;
      const r = trainExplainer(
        { explainer: ex, pool, dev },
        { ...TRAINING_DEFAULTS, steps: 200, batchSize: 8, learningRate: 1e-2, every: 10, window: 3, epsilon },
      );
      expect(tf.memory().numTensors).toBe(before);
      ex.dispose();
      return r;
    };
    const never = run(0);
    expect([never.steps, never.converged]).toEqual([200, false]);
    expect(never.curve).toHaveLength(20);
    // Measured every 10 steps, on the dev pool: p moves as the explainer learns.
    expect(never.curve.map((c) => c.step)).toEqual(Array.from({ length: 20 }, (_, i) => 10 * (i + 1)));
    expect(new Set(never.curve.map((c) => c.p)).size).toBeGreaterThan(1);
    for (const c of never.curve) expect(c.devError).toBeGreaterThan(0);
    // A loose rule stops at the first full window: 3 intervals after the first evaluation.
    const loose = run(10);
    expect([loose.steps, loose.converged]).toEqual([40, true]);
    // Where it stops, the last window really is within ε, and one evaluation earlier it was not.
    const settled = run(0.05);
    expect(settled.converged).toBe(true);
    expect(settled.steps).toBeLessThan(200);
    const evaluations = settled.curve.map((c) => ({ p: c.p!, error: c.devError! }));
    expect(converged(evaluations, { window: 3, epsilon: 0.05 })).toBe(true);
    expect(converged(evaluations.slice(0, -1), { window: 3, epsilon: 0.05 })).toBe(false);
    // Training the same way gives the same curve to the same step.
    expect(run(0.05).curve).toEqual(settled.curve);
    tf.dispose([x, y, dev.x, dev.y]);
  });

  it('measures a higher p where the next layer depends on one localised part than where it depends on dense features', () => {
    // Planted performers: x is faint noise with one bright blob per image. "Local": y is a
    // conv of x kept only around the blob (a part the masked track can carry). "Dense": y is a
    // conv of the noise everywhere (nothing a peak-centred mask can carry).
    const n = 32;
    const size = 6;
    const rng = Array.from({ length: n }, (_, i) => [(i * 5) % size, (i * 7 + 2) % size]);
    const blob = tf.tidy(() => {
      const maps = rng.map(([r, c]) =>
        tf.tensor3d(
          Array.from({ length: size * size }, (_, q) =>
            Math.exp(-((Math.floor(q / size) - r!) ** 2 + ((q % size) - c!) ** 2) / 1.5),
          ),
          [size, size, 1],
        ),
      );
      return tf.stack(maps) as tf.Tensor4D;
    });
    const noise = tf.randomUniform([n, size, size, 4], 0, 0.3, 'float32', 21) as tf.Tensor4D;
    const x = tf.tidy(() => tf.add(noise, tf.mul(blob, 3))) as tf.Tensor4D;
    const kernel = tf.randomNormal([3, 3, 4, 5], 0, 0.4, 'float32', 22) as tf.Tensor4D;
    const local = tf.tidy(() =>
      tf.mul(tf.relu(tf.conv2d(x, kernel, 1, 'same')), tf.greater(blob, 0.2)),
    ) as tf.Tensor4D;
    const dense = tf.tidy(() =>
      tf.relu(tf.conv2d(tf.mul(noise, 10) as tf.Tensor4D, kernel, 1, 'same')),
    ) as tf.Tensor4D;
    const classes = Array.from({ length: n }, (_, i) => (i % 2 ? 0 : -1));
    const measure = (y: tf.Tensor4D) => {
      const ex = new Explainer([size, size, 4], [size, size, 5], {
        filters: 4,
        mask: 'argmax',
        seed: 23,
        p0: 0.5,
      });
      trainExplainer(
        { explainer: ex, pool: { x, y, classes } },
        { ...TRAINING_DEFAULTS, steps: 120, batchSize: 16, learningRate: 1e-2 },
      );
      const r = ex.reconstructionShare(x, y);
      ex.dispose();
      return r;
    };
    const pLocal = measure(local);
    const pDense = measure(dense);
    expect(pLocal.p - pDense.p).toBeGreaterThan(0.2);
    tf.dispose([blob, noise, x, kernel, local, dense]);
  });
});

describe('the explained output of a classifier', () => {
  /** A head module as performerOf reads it: its layers, output port and options. */
  const head = (outputs: number, activation: string, outputLabels?: string[]) =>
    ({
      name: 'head',
      prefix: '',
      model: tf.sequential({
        layers: [tf.layers.dense({ inputShape: [4], units: outputs, activation: activation as 'linear' })],
      }),
      ports: { output: { shape: [null, outputs] } },
      options: outputLabels ? { outputLabels } : {},
    }) as unknown as ModuleInstance;

  it('reads a softmax, logits and sigmoids as the chosen class’s log-odds against the rest', () => {
    const z = tf.tensor2d([
      [2, -1, 0.5],
      [-3, 4, 1],
    ]);
    // log P(k) − log P(not k) = z_k − logsumexp_{j≠k} z_j, for every k.
    const expected = (k: number) =>
      [0, 1].map((i) => {
        const row = z.arraySync()[i]!;
        return row[k]! - Math.log(row.reduce((s, v, j) => (j === k ? s : s + Math.exp(v)), 0));
      });
    const modules = [head(3, 'softmax'), head(3, 'linear')];
    for (const [m, out] of [
      [modules[0]!, tf.softmax(z)],
      [modules[1]!, z],
    ] as const)
      for (let k = 0; k < 3; k++) {
        const e = explainedOutput(m, k);
        const logit = explainedLogit(out, e);
        expect(logit.shape).toEqual([2, 1]);
        close(logit.dataSync(), expected(k), 1e-5);
        logit.dispose();
      }
    expect(explainedOutput(modules[0]!, 1)).toMatchObject({ index: 1, outputs: 3, activation: 'softmax' });
    expect(explainedOutput(modules[1]!, 1).activation).toBe('none');
    // Independent sigmoids: log p_k − log(1 − p_k) = z_k; one plain logit is itself.
    const sigmoid = head(3, 'sigmoid');
    const e = explainedOutput(sigmoid, 2);
    close(
      tf.tidy(() => explainedLogit(tf.sigmoid(z), e).dataSync()),
      [0.5, 1],
      1e-5,
    );
    const one = head(1, 'linear');
    close(
      tf.tidy(() => explainedLogit(tf.tensor2d([[1.5], [-2]]), explainedOutput(one)).dataSync()),
      [1.5, -2],
    );
    tf.dispose(z);
    for (const m of [...modules, sigmoid, one]) m.model.dispose();
  });

  it('needs a class for a multi-class head, by index or by the head’s output name, and says which exist', () => {
    const named = head(3, 'softmax', ['cat', 'dog', 'horse']);
    const unnamed = head(5, 'softmax');
    expect(explainedOutput(named, 'dog')).toMatchObject({
      index: 1,
      label: 'dog',
      describe: 'output 1 of 3 (dog), log-odds from the softmax',
    });
    const refused = (m: ModuleInstance, output: number | string | undefined, message: RegExp) => {
      let error: unknown;
      try {
        explainedOutput(m, output);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(TransplantError);
      expect(error).toMatchObject({ code: 'E_INVALID_ARGUMENT', message: expect.stringMatching(message) });
    };
    refused(named, undefined, /has 3 outputs; choose the class .*: 0 \(cat\), 1 \(dog\), 2 \(horse\)/);
    refused(named, 3, /has no output 3; its outputs are 0–2/);
    refused(named, 'zebra', /no output named "zebra"/);
    refused(unnamed, 'Neutral', /does not name its outputs; choose one by index, 0–4/);
    refused(head(1, 'softmax'), undefined, /softmax over one output/);
    const seg = { ...head(2, 'linear'), ports: { output: { shape: [null, 8, 8, 2] } } } as ModuleInstance;
    refused(seg, 0, /outputs \[null, 8, 8, 2\]; the explainer explains a classifier/);
    for (const m of [named, unnamed, seg]) m.model.dispose();
  });
});
