import { backend_util, type TensorInfo } from '@tensorflow/tfjs';
import type { OnednnAddon } from '@transplant/native';
import type { KernelPatch } from '../kernel-patch';
import { fallback, withSetup } from './conv';
import { heapOf, isEmpty, offsetOf, type WasmHeapBackend } from '../wasm-heap';

interface PoolAttrs {
  filterSize: [number, number] | number;
  strides: [number, number] | number;
  pad: 'same' | 'valid' | number;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

function poolCall(xShape: readonly number[], attrs: PoolAttrs) {
  const info = backend_util.computePool2DInfo(
    xShape as [number, number, number, number],
    attrs.filterSize,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  const { top, left, bottom, right } = info.padInfo;
  return {
    x: [...xShape],
    y: info.outShape,
    kernel: [info.filterHeight, info.filterWidth] as [number, number],
    strides: [info.strideHeight, info.strideWidth] as [number, number],
    padL: [top, left] as [number, number],
    padR: [bottom, right] as [number, number],
  };
}

/**
 * MaxPool and MaxPoolGrad as multi-threaded loops of the addon, vectorised over channels. The
 * gradient reads the forward output tfjs already has (oneDNN's pooling backward needs its own
 * forward pass for the argmax workspace: in the small-CNN step that path measured 27–32 ms a
 * step against 24–27 ms with the loop). oneDNN's pooling forward lost to XNNPACK's
 * (2.3–3.8 ms against 1.3 ms); the loop beats both (0.19 ms against XNNPACK's 0.25 ms on a
 * 32×32×32×16 map, isolated, 2 threads).
 */
export function maxPoolPatches(addon: OnednnAddon): KernelPatch[] {
  return [
    {
      kernelName: 'MaxPool',
      backendName: 'wasm',
      purpose: 'max pooling as a multi-threaded loop over images (NaN inputs skipped, as on cpu)',
      build: (previous) =>
        withSetup('MaxPool', previous, (args) => {
          const { inputs, attrs } = args as unknown as { inputs: { x: TensorInfo }; attrs: PoolAttrs };
          const backend = args.backend as WasmHeapBackend;
          if (inputs.x.dtype !== 'float32' || inputs.x.shape.length !== 4 || isEmpty(inputs.x.shape))
            return fallback(previous, args);
          const call = poolCall(inputs.x.shape, attrs);
          if (isEmpty(call.y)) return fallback(previous, args);
          const out = backend.makeOutput(call.y, 'float32');
          addon.maxPool(heapOf(backend), {
            ...call,
            xOff: offsetOf(backend, inputs.x),
            yOff: offsetOf(backend, out),
          });
          return out;
        }),
    },
    {
      kernelName: 'MaxPoolGrad',
      backendName: 'wasm',
      purpose:
        'max-pooling gradient from the forward output, multi-threaded in the addon (first maximum wins, as on cpu)',
      build: (previous) =>
        withSetup('MaxPoolGrad', previous, (args) => {
          const { inputs, attrs } = args as unknown as {
            inputs: { dy: TensorInfo; input: TensorInfo; output: TensorInfo };
            attrs: PoolAttrs;
          };
          const backend = args.backend as WasmHeapBackend;
          if (isEmpty(inputs.input.shape)) return fallback(previous, args);
          const call = poolCall(inputs.input.shape, attrs);
          const out = backend.makeOutput(call.x, 'float32');
          const offsets = {
            xOff: offsetOf(backend, inputs.input),
            dyOff: offsetOf(backend, inputs.dy),
            dxOff: offsetOf(backend, out),
          };
          addon.maxPoolGradFromOutput(heapOf(backend), {
            ...call,
            ...offsets,
            yOff: offsetOf(backend, inputs.output),
          });
          return out;
        }),
    },
  ];
}

interface MatMulAttrs {
  transposeA: boolean;
  transposeB: boolean;
  activation?: string;
}

/** BatchMatMul and _FusedMatMul (bias + relu); broadcast batches and other activations keep the previous kernel. */
export function matMulPatches(addon: OnednnAddon): KernelPatch[] {
  const patch = (kernelName: 'BatchMatMul' | '_FusedMatMul'): KernelPatch => ({
    kernelName,
    backendName: 'wasm',
    purpose: `oneDNN matmul${kernelName === '_FusedMatMul' ? ' with bias and relu as post-ops' : ''}`,
    build: (previous) =>
      withSetup(kernelName, previous, (args) => {
        const { inputs, attrs } = args as unknown as {
          inputs: Record<string, TensorInfo | undefined>;
          attrs: MatMulAttrs;
        };
        const backend = args.backend as WasmHeapBackend;
        const { a, b, bias, preluActivationWeights } = inputs;
        const activation = attrs.activation ?? 'linear';
        if (
          !a ||
          !b ||
          a.shape.length !== b.shape.length ||
          a.shape.length < 2 ||
          preluActivationWeights ||
          (activation !== 'linear' && activation !== 'relu')
        )
          return fallback(previous, args);
        const rank = a.shape.length;
        const batchA = a.shape.slice(0, -2).reduce((p, d) => p * d, 1);
        const batchB = b.shape.slice(0, -2).reduce((p, d) => p * d, 1);
        const [m, k] = attrs.transposeA
          ? [a.shape[rank - 1]!, a.shape[rank - 2]!]
          : [a.shape[rank - 2]!, a.shape[rank - 1]!];
        const n = attrs.transposeB ? b.shape[rank - 2]! : b.shape[rank - 1]!;
        const biasOk = !bias || (bias.shape.length === 1 && bias.shape[0] === n);
        if (
          batchA !== batchB ||
          !biasOk ||
          isEmpty(a.shape, b.shape) ||
          a.dtype !== 'float32' ||
          b.dtype !== 'float32'
        )
          return fallback(previous, args);
        const out = backend.makeOutput([...a.shape.slice(0, -2), m, n], 'float32');
        addon.matMul(heapOf(backend), {
          batch: batchA,
          m,
          k,
          n,
          transposeA: attrs.transposeA,
          transposeB: attrs.transposeB,
          aOff: offsetOf(backend, a),
          bOff: offsetOf(backend, b),
          biasOff: bias ? offsetOf(backend, bias) : -1,
          relu: activation === 'relu',
          cOff: offsetOf(backend, out),
        });
        return out;
      }),
  });
  return [patch('BatchMatMul'), patch('_FusedMatMul')];
}
