import * as tf from '@tensorflow/tfjs';
import { fallbackCounts, resetFallbacks } from '@transplant/core';
import type { BenchCase } from './cases';

export interface Timing {
  readonly medianMs: number;
  readonly minMs: number;
  readonly samples: number;
}

/** Our timing also keeps the warm-up steps' median: the first steps of a process run while V8 is still compiling tfjs. */
export interface TfjsTiming extends Timing {
  readonly warmupMedianMs: number;
  readonly leaked: number;
  /** Kernels that ran off the fast path during the timed steps, with calls per step. */
  readonly fallbacks?: readonly { kernel: string; via: string; perStep: number }[];
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

interface Built {
  readonly params: tf.Variable[];
  readonly forward: (x: tf.Tensor4D) => tf.Tensor;
}

/** A variable from an initialiser; tidy frees the initial tensor (variables survive tidy). */
function variable(init: () => tf.Tensor): tf.Variable {
  return tf.tidy(() => tf.variable(init()));
}

function seededNormal(shape: number[], seed: number, scale: number): tf.Tensor {
  return tf.mul(tf.randomNormal(shape, 0, 1, 'float32', seed), scale);
}

/** Builds the case's network from tfjs ops (He-initialised), NHWC, 'same' padding, 2×2 pooling. */
function build(c: BenchCase): Built {
  const params: tf.Variable[] = [];
  let [, h, w, ch] = c.input;
  const ops: ((x: tf.Tensor) => tf.Tensor)[] = [];
  c.layers.forEach((layer, i) => {
    switch (layer.type) {
      case 'conv': {
        const k = variable(() =>
          seededNormal(
            [layer.kernel, layer.kernel, ch, layer.filters],
            i,
            Math.sqrt(2 / (layer.kernel * layer.kernel * ch)),
          ),
        );
        const b = variable(() => tf.zeros([layer.filters]));
        params.push(k, b);
        // The fused op, as tfjs-layers' Conv2D uses it: one kernel for conv + bias + relu.
        ops.push((x) =>
          tf.fused.conv2d({
            x: x as tf.Tensor4D,
            filter: k as tf.Tensor4D,
            strides: 1,
            pad: 'same',
            bias: b,
            activation: 'relu',
          }),
        );
        ch = layer.filters;
        break;
      }
      case 'maxpool':
        ops.push((x) => tf.maxPool(x as tf.Tensor4D, 2, 2, 'valid'));
        [h, w] = [Math.floor(h / 2), Math.floor(w / 2)];
        break;
      case 'dense': {
        const fanIn = h * w * ch;
        const k = variable(() => seededNormal([fanIn, layer.units], i, Math.sqrt(1 / fanIn)));
        const b = variable(() => tf.zeros([layer.units]));
        params.push(k, b);
        ops.push((x) => tf.add(tf.matMul(tf.reshape(x, [x.shape[0] ?? -1, fanIn]), k), b));
        [h, w, ch] = [1, 1, layer.units];
        break;
      }
    }
  });
  return { params, forward: (x) => ops.reduce<tf.Tensor>((acc, op) => op(acc), x) };
}

/** Times one step of the case on the active back end: median and minimum over `steps` after `warmup` (whose median is kept too). */
export async function timeTfjsCase(
  c: BenchCase,
  options: { warmup: number; steps: number },
): Promise<TfjsTiming> {
  const before = tf.memory().numTensors;
  const net = build(c);
  const x = tf.tidy(() => tf.randomUniform([...c.input], 0, 1, 'float32', 1)) as tf.Tensor4D;
  const last = c.layers.at(-1);
  const classes = last?.type === 'dense' ? last.units : 0;
  if (c.mode === 'train' && classes < 2)
    throw new Error(`${c.id}: a training case ends in a dense layer of ≥ 2 classes`);
  const labels = tf.tidy(() =>
    tf.oneHot(tf.randomUniform([c.input[0]], 0, Math.max(classes, 2), 'int32', 2), Math.max(classes, 2)),
  );
  const optimizer = tf.train.adam(1e-3);
  const step = (): void => {
    if (c.mode === 'train') {
      const loss = optimizer.minimize(
        () => tf.losses.softmaxCrossEntropy(labels, net.forward(x)) as tf.Scalar,
        true,
        net.params,
      );
      loss?.dataSync();
      loss?.dispose();
    } else {
      const y = tf.tidy(() => net.forward(x));
      y.dataSync();
      y.dispose();
    }
  };
  const warm: number[] = [];
  for (let i = 0; i < options.warmup; i++) {
    const t0 = performance.now();
    step();
    warm.push(performance.now() - t0);
  }
  const times: number[] = [];
  resetFallbacks();
  for (let i = 0; i < options.steps; i++) {
    const t0 = performance.now();
    step();
    times.push(performance.now() - t0);
  }
  const fallbacks = fallbackCounts().map((f) => ({
    kernel: f.kernel,
    via: f.via,
    perStep: f.calls / Math.max(options.steps, 1),
  }));
  optimizer.dispose();
  tf.dispose([x, labels, ...net.params]);
  return {
    medianMs: median(times),
    minMs: Math.min(...times),
    samples: times.length,
    warmupMedianMs: median(warm),
    leaked: tf.memory().numTensors - before,
    fallbacks,
  };
}
