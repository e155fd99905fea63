import { backend_util, type KernelConfig, type TensorInfo } from '@tensorflow/tfjs';
import { replacing, type KernelPatch } from './kernel-patch';
import { offsetOf, type WasmHeapBackend } from './wasm-heap';

interface PoolAttrs {
  filterSize: [number, number] | number;
  strides: [number, number] | number;
  pad: 'same' | 'valid' | number;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/**
 * tfjs-backend-wasm 4.22's MaxPoolGrad loses gradients for some windows (e.g. 29 of 32 windows
 * of a [2,8,8,1] input receive theirs; found by our conformance suite), which silently breaks
 * training. This replacement runs in JavaScript directly on the wasm heap (no copies): each
 * window sends dy to its first maximum in scan order, as the cpu kernel and TensorFlow do.
 */
export const maxPoolGradPatch: KernelPatch = {
  kernelName: 'MaxPoolGrad',
  backendName: 'wasm',
  purpose:
    'stock kernel loses gradients; replaced by a zero-copy JavaScript loop on the wasm heap (first maximum wins, as on cpu)',
  build: (previous) => {
    const kernelFunc: KernelConfig['kernelFunc'] = (args) => {
      const { inputs, attrs } = args as unknown as {
        inputs: { dy: TensorInfo; input: TensorInfo };
        attrs: PoolAttrs;
      };
      const backend = args.backend as WasmHeapBackend;
      const x = inputs.input;
      const info = backend_util.computePool2DInfo(
        x.shape as [number, number, number, number],
        attrs.filterSize,
        attrs.strides,
        1,
        attrs.pad,
        attrs.dimRoundingMode,
      );
      const out = backend.makeOutput([...x.shape], 'float32');
      const heap = backend.wasm.HEAPU8.buffer;
      const [n, h, w, c] = x.shape as [number, number, number, number];
      const xs = new Float32Array(heap, offsetOf(backend, x), n * h * w * c);
      const dys = new Float32Array(
        heap,
        offsetOf(backend, inputs.dy),
        n * info.outHeight * info.outWidth * c,
      );
      const dx = new Float32Array(heap, offsetOf(backend, out), n * h * w * c).fill(0);
      const { strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw } = info;
      const { top, left } = info.padInfo;
      let o = 0;
      for (let b = 0; b < n; b++) {
        for (let oy = 0; oy < info.outHeight; oy++) {
          const y0 = Math.max(0, oy * sh - top);
          const y1 = Math.min(h, oy * sh - top + fh);
          for (let ox = 0; ox < info.outWidth; ox++) {
            const x0 = Math.max(0, ox * sw - left);
            const x1 = Math.min(w, ox * sw - left + fw);
            for (let ch = 0; ch < c; ch++, o++) {
              let best = -1;
              let bestValue = -Infinity;
              for (let yy = y0; yy < y1; yy++) {
                for (let xx = x0; xx < x1; xx++) {
                  const i = ((b * h + yy) * w + xx) * c + ch;
                  const v = xs[i]!;
                  if (v > bestValue || best < 0) [best, bestValue] = [i, v];
                }
              }
              if (best >= 0) dx[best] = dx[best]! + dys[o]!;
            }
          }
        }
      }
      return out;
    };
    return replacing('MaxPoolGrad', 'wasm', previous, kernelFunc);
  },
};
