import type { KernelBackend, KernelConfig, TensorInfo } from '@tensorflow/tfjs';
import { replacing, type KernelPatch } from './kernel-patch';

/**
 * Identity without a copy: the output shares the input's buffer (reference-counted), as the
 * cpu back end does and as wasm's own Reshape does. tfjs clones every tensor it saves for the
 * backward pass with Identity, so the stock wasm kernel copied each saved activation once per
 * training step (26 copies in the small-CNN step). Safe because no wasm kernel writes into an
 * input's buffer: every kernel, ours included, writes a fresh output.
 */
export const identityPatch: KernelPatch = {
  kernelName: 'Identity',
  backendName: 'wasm',
  purpose:
    'stock kernel copies the tensor; shares the reference-counted buffer instead (tfjs clones every tensor it saves for backprop)',
  build: (previous) => {
    const kernelFunc: KernelConfig['kernelFunc'] = (args) => {
      const x = (args.inputs as { x: TensorInfo }).x;
      if (x.dtype === 'string') {
        if (!previous) throw new Error('wasm has no Identity kernel for strings to fall back to');
        return previous.kernelFunc(args);
      }
      (args.backend as KernelBackend).incRef(x.dataId);
      return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
    };
    return replacing('Identity', 'wasm', previous, kernelFunc);
  },
};
