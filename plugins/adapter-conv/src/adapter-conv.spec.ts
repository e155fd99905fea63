import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { parsePluginOptions, selectBackend } from '@transplant/core';
import { adapterConv } from './adapter-conv';

function build(raw: Record<string, unknown>) {
  const options = parsePluginOptions(adapterConv, raw);
  const built = adapterConv.build(options, {
    seed: 3,
    prefix: `a${Math.random().toString(36).slice(2, 8)}__`,
  });
  const input = tf.input({ shape: adapterConv.ports(options).input.shape.slice(1) as number[] });
  return { model: tf.model({ inputs: input, outputs: built.apply(input) }), built };
}

describe('adapter-conv', () => {
  beforeAll(async () => {
    await selectBackend({ requested: 'cpu', env: {} });
  });

  it.each([1, 3])('starts as the identity on non-negative maps when channels agree (%i layers)', (layers) => {
    const { model } = build({ size: 5, channels: 6, stride: 4, layers });
    const x = tf.randomUniform([2, 5, 5, 6], 0, 3, 'float32', 1);
    const y = model.predict(x) as tf.Tensor;
    expect(Array.from(y.dataSync())).toEqual(Array.from(x.dataSync()));
    tf.dispose([x, y]);
    model.dispose();
  });

  it('starts He-normal (not the identity) when channels differ, with the declared output channels', () => {
    const { model } = build({ size: 5, channels: 6, stride: 4, outChannels: 3, layers: 1 });
    expect(model.outputs[0]!.shape).toEqual([null, 5, 5, 3]);
    const kernel = model.layers[1]!.getWeights()[0]!;
    const std = tf.tidy(() => tf.sqrt(tf.mean(tf.square(kernel))).dataSync()[0]!);
    // He-normal (truncated) over fan-in 3·3·6 = 54: standard deviation close to sqrt(2 / 54) ≈ 0.19.
    expect(std).toBeGreaterThan(0.1);
    expect(std).toBeLessThan(0.3);
    model.dispose();
  });

  it('refuses other layer counts', () => {
    expect(() => parsePluginOptions(adapterConv, { layers: 2 })).toThrow(
      expect.objectContaining({ code: 'E_OPTIONS_INVALID' }),
    );
  });
});

describe('adapter-conv init option', () => {
  it('starts He-normal on request even when channels agree, and refuses identity across channel counts', async () => {
    await selectBackend({ requested: 'cpu', env: {} });
    const { model } = build({ size: 5, channels: 6, stride: 4, layers: 1, init: 'he-normal' });
    const x = tf.randomUniform([1, 5, 5, 6], 0, 3, 'float32', 1);
    const y = model.predict(x) as tf.Tensor;
    expect(Array.from(y.dataSync())).not.toEqual(Array.from(x.dataSync()));
    tf.dispose([x, y]);
    model.dispose();
    expect(() => parsePluginOptions(adapterConv, { channels: 6, outChannels: 4, init: 'identity' })).toThrow(
      expect.objectContaining({ code: 'E_OPTIONS_INVALID' }),
    );
  });
});
