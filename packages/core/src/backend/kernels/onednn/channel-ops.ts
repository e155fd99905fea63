import { util, type TensorInfo } from '@tensorflow/tfjs';
import type { OnednnAddon } from '@transplant/native';
import type { KernelPatch } from '../kernel-patch';
import { fallback, withSetup } from './conv';
import { heapOf, offsetOf, type WasmHeapBackend } from '../wasm-heap';

/**
 * The two memory-bound steps around every convolution of a training step, as multi-threaded
 * loops of the addon: adding a per-channel bias to an NHWC map, and its gradient, the sum over
 * N·H·W. Measured for a [32,32,32,16] map: stock wasm 1.0 ms (broadcast add) and 1.7 ms (sum,
 * which it transposes first). Below MIN_ELEMENTS the stock kernels keep the work.
 */
export const MIN_ELEMENTS = 32_768;

export function channelOpPatches(addon: OnednnAddon): KernelPatch[] {
  return [
    {
      kernelName: 'Add',
      backendName: 'wasm',
      purpose:
        'per-channel bias add ([…, C] + [C]) as a multi-threaded loop; other adds keep the stock kernel',
      build: (previous) =>
        withSetup('Add', previous, (args) => {
          const backend = args.backend as WasmHeapBackend;
          const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
          const [x, bias] =
            b.shape.length === 1 ? [a, b] : a.shape.length === 1 ? [b, a] : [undefined, undefined];
          const channels = bias?.shape[0];
          if (
            !x ||
            !bias ||
            x.dtype !== 'float32' ||
            bias.dtype !== 'float32' ||
            x.shape.at(-1) !== channels ||
            util.sizeFromShape(x.shape) < MIN_ELEMENTS
          ) {
            return fallback(previous, args);
          }
          const out = backend.makeOutput([...x.shape], 'float32');
          addon.addBias(heapOf(backend), {
            rows: util.sizeFromShape(x.shape) / channels!,
            channels: channels!,
            xOff: offsetOf(backend, x),
            bOff: offsetOf(backend, bias),
            yOff: offsetOf(backend, out),
          });
          return out;
        }),
    },
    {
      kernelName: 'Sum',
      backendName: 'wasm',
      purpose:
        'sums over all but the last axis (bias gradients) as a multi-threaded loop; other sums keep the stock kernel',
      build: (previous) =>
        withSetup('Sum', previous, (args) => {
          const backend = args.backend as WasmHeapBackend;
          const { x } = args.inputs as { x: TensorInfo };
          const { axis, keepDims } = args.attrs as { axis: number | number[]; keepDims: boolean };
          const rank = x.shape.length;
          const axes = util.parseAxisParam(axis, x.shape).sort((p, q) => p - q);
          const allButLast = rank >= 2 && axes.length === rank - 1 && axes.every((ax, i) => ax === i);
          if (x.dtype !== 'float32' || !allButLast || util.sizeFromShape(x.shape) < MIN_ELEMENTS)
            return fallback(previous, args);
          const channels = x.shape[rank - 1]!;
          const out = backend.makeOutput(
            keepDims ? [...Array<number>(rank - 1).fill(1), channels] : [channels],
            'float32',
          );
          addon.sumRows(heapOf(backend), {
            rows: util.sizeFromShape(x.shape) / channels,
            channels,
            xOff: offsetOf(backend, x),
            yOff: offsetOf(backend, out),
          });
          return out;
        }),
    },
  ];
}
