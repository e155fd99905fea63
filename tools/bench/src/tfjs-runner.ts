import * as tf from '@tensorflow/tfjs';
import { fallbackCounts, resetFallbacks } from '@transplant/core';
import { classesOf, mobileNetV2Plan, type BenchCase, type Layer, type MobileNetV2Network } from './cases';

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
  /** What the optimiser updates. */
  readonly trainable: tf.Variable[];
  /** Logits; `training` switches batch norm to batch statistics and turns dropout on. */
  readonly forward: (x: tf.Tensor4D, training: boolean) => tf.Tensor;
  readonly dispose: () => void;
}

/** A variable from an initialiser; tidy frees the initial tensor (variables survive tidy). */
function variable(init: () => tf.Tensor): tf.Variable {
  return tf.tidy(() => tf.variable(init()));
}

function seededNormal(shape: number[], seed: number, scale: number): tf.Tensor {
  return tf.mul(tf.randomNormal(shape, 0, 1, 'float32', seed), scale);
}

/** Builds a plain stack from tfjs ops (He-initialised), NHWC, 'same' padding, 2×2 pooling. */
function buildSequential(layers: readonly Layer[], input: BenchCase['input']): Built {
  const params: tf.Variable[] = [];
  let [, h, w, ch] = input;
  const ops: ((x: tf.Tensor) => tf.Tensor)[] = [];
  layers.forEach((layer, i) => {
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
  return {
    trainable: params,
    forward: (x) => ops.reduce<tf.Tensor>((acc, op) => op(acc), x),
    dispose: () => tf.dispose(params),
  };
}

/**
 * A layer of the class registered under `className`, made as deserialising a Keras model makes
 * it: where Transplant registers its own subclass under the stock name (core's
 * BatchNormalization, fused in training), that subclass, as an imported model gets it.
 */
function importedLayer(className: string, config: tf.serialization.ConfigDict): tf.layers.Layer {
  const entry = tf.serialization.SerializationMap.getMap().classNameMap[className];
  if (!entry) throw new Error(`tfjs-layers has no layer class ${className}`);
  const [cls, fromConfig] = entry;
  return fromConfig(cls, config) as unknown as tf.layers.Layer;
}

const applied = (layer: tf.layers.Layer, x: tf.SymbolicTensor | tf.SymbolicTensor[]) =>
  layer.apply(x) as tf.SymbolicTensor;

/**
 * MobileNetV2 as a tf.layers functional model, built the way an imported Keras MobileNetV2 is
 * (each layer from the serialization registry, as a deserialised model gets it):
 * Conv2D / DepthwiseConv2D without bias, BatchNormalization with Keras's epsilon 1e-3 and
 * momentum 0.999 (torchvision uses 1e-5 and 0.9 in Keras's terms: the same work per step),
 * ReLU6 as `tf.layers.reLU({maxValue: 6})` (relu, then clip to [0, 6]), 'same' padding. A
 * stride-2 'same' 3×3 conv pads 0 rows above and 1 below in tfjs, torchvision pads 1 and 1: the
 * same shapes and work, different values (random weights either way).
 */
export function buildMobileNetV2(net: MobileNetV2Network, input: BenchCase['input']): tf.LayersModel {
  const plan = mobileNetV2Plan(net);
  const bnRelu6 = (x: tf.SymbolicTensor, act: boolean) => {
    const y = applied(importedLayer('BatchNormalization', { axis: -1, epsilon: 1e-3, momentum: 0.999 }), x);
    return act ? applied(importedLayer('ReLU', { maxValue: 6 }), y) : y;
  };
  const convBn = (x: tf.SymbolicTensor, filters: number, kernel: number, strides: number, act: boolean) =>
    bnRelu6(
      applied(
        importedLayer('Conv2D', { filters, kernelSize: kernel, strides, padding: 'same', useBias: false }),
        x,
      ),
      act,
    );
  const inputs = tf.input({ shape: [input[1], input[2], input[3]] });
  let x = convBn(inputs, plan.stem, 3, 2, true);
  for (const b of plan.blocks) {
    let y = b.expand ? convBn(x, b.hidden, 1, 1, true) : x;
    const depthwise = { kernelSize: 3, strides: b.stride, padding: 'same', useBias: false };
    y = bnRelu6(applied(importedLayer('DepthwiseConv2D', depthwise), y), true);
    y = convBn(y, b.out, 1, 1, false);
    x = b.residual ? applied(importedLayer('Add', {}), [x, y]) : y;
  }
  x = convBn(x, plan.last, 1, 1, true);
  x = applied(importedLayer('GlobalAveragePooling2D', {}), x);
  x = applied(importedLayer('Dropout', { rate: net.dropout }), x);
  const logits = applied(importedLayer('Dense', { units: net.classes }), x);
  return tf.model({ inputs, outputs: logits, name: 'mobilenetv2' });
}

function buildMobileNetV2Runner(net: MobileNetV2Network, input: BenchCase['input']): Built {
  const model = buildMobileNetV2(net, input);
  return {
    trainable: model.trainableWeights.map((w) => w.read() as tf.Variable),
    forward: (x, training) => model.apply(x, { training }) as tf.Tensor,
    dispose: () => model.dispose(),
  };
}

function build(c: BenchCase): Built {
  const net = c.network;
  switch (net.kind) {
    case 'sequential':
      return buildSequential(net.layers, c.input);
    case 'mobilenetv2':
      return buildMobileNetV2Runner(net, c.input);
    default: {
      const unreachable: never = net;
      return unreachable;
    }
  }
}

/** Times one step of the case on the active back end: median and minimum over `steps` after `warmup` (whose median is kept too). */
export async function timeTfjsCase(
  c: BenchCase,
  options: { warmup: number; steps: number },
): Promise<TfjsTiming> {
  const before = tf.memory().numTensors;
  const net = build(c);
  const x = tf.tidy(() => tf.randomUniform([...c.input], 0, 1, 'float32', 1)) as tf.Tensor4D;
  const classes = classesOf(c.network);
  if (c.mode === 'train' && classes < 2)
    throw new Error(`${c.id}: a training case ends in a dense layer of ≥ 2 classes`);
  const labels = tf.tidy(() =>
    tf.oneHot(tf.randomUniform([c.input[0]], 0, Math.max(classes, 2), 'int32', 2), Math.max(classes, 2)),
  );
  const optimizer = tf.train.adam(1e-3);
  const step = (): void => {
    if (c.mode === 'train') {
      const loss = optimizer.minimize(
        () => tf.losses.softmaxCrossEntropy(labels, net.forward(x, true)) as tf.Scalar,
        true,
        net.trainable,
      );
      loss?.dataSync();
      loss?.dispose();
    } else {
      const y = tf.tidy(() => net.forward(x, false));
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
  tf.dispose([x, labels]);
  net.dispose();
  return {
    medianMs: median(times),
    minMs: Math.min(...times),
    samples: times.length,
    warmupMedianMs: median(warm),
    leaked: tf.memory().numTensors - before,
    fallbacks,
  };
}
