import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { isTransplantError } from '../errors';
import { loadOnednn } from '@transplant/native';
import { selectBackend } from './select-backend';

const noNative = () => ({ ok: false as const, reason: 'the oneDNN addon is not built (test)' });

/** A loader for which no optional package is installed, or one whose install script never ran. */
const missing = (pkg: string) => {
  throw Object.assign(new Error(`Cannot find module '${pkg}'`), { code: 'MODULE_NOT_FOUND' });
};
const brokenBinary = () => {
  // What a package whose install script was skipped throws: a plain Error, no code.
  throw new Error('The specified module could not be found: tfjs_binding.node');
};

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'no error';
  } catch (error) {
    return isTransplantError(error) ? error.code : `uncoded: ${String(error)}`;
  }
}

describe('selectBackend', () => {
  it('falls from tensorflow to wasm when tfjs-node-gpu and tfjs-node cannot load, saying why', async () => {
    const selection = await selectBackend({ env: {}, load: brokenBinary, loadNative: noNative });
    expect(selection.id).toBe('wasm');
    expect(selection.attempts[1]).toEqual({
      id: 'wasm+onednn',
      ok: false,
      detail: '@transplant/native: the oneDNN addon is not built (test)',
    });
    expect(tf.getBackend()).toBe('wasm');
    expect(selection.forced).toBe(false);
    expect(selection.attempts[0]).toMatchObject({ id: 'tensorflow', ok: false });
    expect(selection.attempts[0]!.detail).toContain('@tensorflow/tfjs-node-gpu: The specified module');
    expect(selection.attempts[0]!.detail).toContain('@tensorflow/tfjs-node: The specified module');
    expect(selection.kernelPatches.map((k) => k.kernelName)).toContain('Conv2DBackpropFilter');
  });

  it('treats a package that loads without registering a back end as unavailable', async () => {
    const selection = await selectBackend({ env: {}, load: () => ({}), loadNative: noNative });
    expect(selection.id).toBe('wasm');
    expect(selection.attempts[0]!.detail).toContain('did not initialise');
  });

  it('honours --backend over TRANSPLANT_BACKEND, and the variable alone', async () => {
    expect(
      (await selectBackend({ requested: 'cpu', env: { TRANSPLANT_BACKEND: 'wasm' }, load: missing })).id,
    ).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    const fromEnv = await selectBackend({ env: { TRANSPLANT_BACKEND: 'wasm' }, load: missing });
    expect(fromEnv).toMatchObject({ id: 'wasm', forced: true });
    expect(fromEnv.attempts).toHaveLength(1);
  });

  it('fails with a coded error naming the missing packages when a forced back end is unavailable', async () => {
    try {
      await selectBackend({ requested: 'tensorflow', env: {}, load: missing });
      expect.unreachable();
    } catch (error) {
      expect(isTransplantError(error, 'E_BACKEND_UNAVAILABLE')).toBe(true);
      expect(String(error)).toContain('@tensorflow/tfjs-node-gpu');
      expect(String(error)).toContain('@tensorflow/tfjs-node:');
      expect(String(error)).toContain('--backend');
    }
  });

  it('prefers wasm+onednn where the addon loads, and plain wasm then drops its kernels again', async () => {
    const native = loadOnednn();
    const auto = await selectBackend({ env: {}, load: missing });
    expect(auto.id).toBe(native.ok ? 'wasm+onednn' : 'wasm');
    if (native.ok) {
      expect(auto.provider).toContain('oneDNN');
      expect(auto.kernelPatches.map((k) => k.kernelName)).toEqual(
        expect.arrayContaining(['Conv2D', 'MaxPoolGrad', 'BatchMatMul']),
      );
      const oneDnnConv = tf.getKernel('BatchMatMul', 'wasm');
      const plain = await selectBackend({ requested: 'wasm', env: {} });
      expect(plain.kernelPatches.map((k) => k.kernelName)).not.toContain('BatchMatMul');
      const stock = tf.getKernel('BatchMatMul', 'wasm');
      expect(stock).not.toBe(oneDnnConv);
      expect((await selectBackend({ requested: 'wasm+onednn', env: {} })).id).toBe('wasm+onednn');
      expect(tf.getKernel('BatchMatMul', 'wasm')).not.toBe(stock);
    }
  });

  it('keeps one layer of kernels however often the modes are switched', async () => {
    await selectBackend({ requested: 'wasm', env: {} });
    const plain = tf.getKernel('BatchMatMul', 'wasm');
    const conv = tf.getKernel('Conv2DBackpropFilter', 'wasm');
    if (loadOnednn().ok) {
      for (let i = 0; i < 3; i++) await selectBackend({ requested: 'wasm+onednn', env: {} });
      expect(tf.getKernel('BatchMatMul', 'wasm')).not.toBe(plain);
    }
    await selectBackend({ requested: 'wasm', env: {} });
    expect(tf.getKernel('BatchMatMul', 'wasm')).toBe(plain);
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBe(conv);
  });

  it('refuses a forced wasm+onednn without the addon, naming the package and the fix', async () => {
    try {
      await selectBackend({ requested: 'wasm+onednn', env: {}, loadNative: noNative });
      expect.unreachable();
    } catch (error) {
      expect(isTransplantError(error, 'E_BACKEND_UNAVAILABLE')).toBe(true);
      expect(String(error)).toContain('@transplant/native: the oneDNN addon is not built');
    }
  });

  it('refuses unknown back end names', async () => {
    expect(await codeOf(selectBackend({ requested: 'webgpu', env: {} }))).toBe('E_BACKEND_UNKNOWN');
    expect(await codeOf(selectBackend({ env: { TRANSPLANT_BACKEND: 'gpu' } }))).toBe('E_BACKEND_UNKNOWN');
  });

  it('installs the wasm kernels once however often it is called', async () => {
    const first = await selectBackend({ requested: 'wasm', env: {} });
    const second = await selectBackend({ requested: 'wasm', env: {} });
    expect(second.kernelPatches.map((k) => k.kernelName)).toEqual(
      first.kernelPatches.map((k) => k.kernelName),
    );
    const x = tf.ones([1, 4, 4, 1]);
    const w = tf.ones([3, 3, 1, 1]);
    const g = tf.grad((k) => tf.sum(tf.conv2d(x as tf.Tensor4D, k as tf.Tensor4D, 1, 'same')))(w);
    expect(Array.from(g.dataSync())).toEqual([9, 12, 9, 12, 16, 12, 9, 12, 9]);
    tf.dispose([x, w, g]);
  });
});
