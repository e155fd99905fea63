import * as tf from '@tensorflow/tfjs';
import { TransplantError } from '@transplant/core';
import type { ModuleInstance } from '@transplant/composer';

/** 1 where a pre-activation passes its ReLU, else 0; a constant for autodiff (derivative 0 a.e.). */
const reluSwitches = tf.customGrad(((a: tf.Tensor) => ({
  value: tf.cast(tf.greater(a, 0), 'float32'),
  gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
})) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as <T extends tf.Tensor>(a: T) => T;

/** A stride or dilation of 1 on both axes, however tfjs-layers wrote it (1, [1], [1, 1]). */
const ones = (value: unknown): boolean =>
  Array.isArray(value) ? value.every((v) => v === 1) : value === 1 || value === undefined;

/** One conv+ReLU layer of an adapter, by its live variables. */
interface ConvReluLayer {
  readonly kernel: tf.Variable;
  readonly bias: tf.Variable | undefined;
}

/**
 * The adapter as a chain of stride-1, `same`-padded conv+ReLU layers, read from its built
 * layers. Other adapters are refused: back-distillation writes their vector–Jacobian product
 * by hand (docs/methods.md §4.7), which is only done for this family's shape.
 */
export function convReluChain(adapter: ModuleInstance): ConvReluLayer[] {
  return adapter.built.layers.map((layer) => {
    const config = layer.getConfig();
    const ok =
      layer.getClassName() === 'Conv2D' &&
      config['activation'] === 'relu' &&
      config['padding'] === 'same' &&
      ones(config['strides']) &&
      ones(config['dilation_rate']);
    if (!ok) {
      throw new TransplantError(
        'E_DISTILL_UNSUPPORTED',
        `${adapter.name}: layer ${layer.name} is ${layer.getClassName()} ${JSON.stringify({ activation: config['activation'], padding: config['padding'], strides: config['strides'] })}`,
        {
          module: adapter.name,
          operation: 'backDistill',
        },
      );
    }
    const [kernel, bias] = layer.weights.map((w) => w.read() as tf.Variable);
    return { kernel: kernel!, bias };
  });
}

/**
 * z = h(x) with the pre-activations kept, as ordinary ops on the adapter's variables (so
 * that autodiff reaches them).
 */
export function adapterForward(
  chain: readonly ConvReluLayer[],
  x: tf.Tensor4D,
): { z: tf.Tensor4D; inputs: tf.Tensor4D[]; preActivations: tf.Tensor4D[] } {
  const inputs: tf.Tensor4D[] = [];
  const preActivations: tf.Tensor4D[] = [];
  let t = x;
  for (const layer of chain) {
    inputs.push(t);
    const conv = tf.conv2d(t, layer.kernel as tf.Tensor4D, 1, 'same');
    const a = layer.bias ? (tf.add(conv, layer.bias) as tf.Tensor4D) : conv;
    preActivations.push(a);
    t = tf.relu(a);
  }
  return { z: t, inputs, preActivations };
}

/**
 * J_hᵀ u: the adapter's vector–Jacobian product written as explicit ops (docs/methods.md §4.7):
 * walking the layers backwards, mask u by the ReLU switches (constants: their derivative is
 * 0 almost everywhere), then apply the transposed convolution with the layer's kernel. The
 * result is an ordinary differentiable function of the kernels, so first-order autodiff
 * trains the adapter on a loss that contains it.
 */
export function adapterVjp(
  chain: readonly ConvReluLayer[],
  forward: ReturnType<typeof adapterForward>,
  u: tf.Tensor4D,
): tf.Tensor4D {
  let g = u;
  for (let k = chain.length - 1; k >= 0; k--) {
    const open = reluSwitches(forward.preActivations[k]!);
    g = tf.mul(g, open) as tf.Tensor4D;
    const input = forward.inputs[k]!;
    g = tf.conv2dTranspose(g, chain[k]!.kernel as tf.Tensor4D, input.shape, 1, 'same');
  }
  return g;
}
