import {
  cast,
  engine,
  getBackend,
  getKernel,
  mul,
  registerGradient,
  step,
  util,
  zerosLike,
  type Tensor,
  type TensorInfo,
} from '@tensorflow/tfjs';
import type { OnednnAddon } from '@transplant/native';
import type { KernelPatch } from '../kernel-patch';
import { MIN_ELEMENTS } from './channel-ops';
import { fallback, withSetup } from './conv';
import { heapOf, offsetOf, type WasmHeapBackend } from '../wasm-heap';

/**
 * tfjs's Relu gradient is mul(dy, cast(step(x))): three kernels, two temporaries and three
 * passes over every activation map of a training step. This kernel does it in one
 * multi-threaded pass, to the bit (NaN inputs give NaN). It exists only where the oneDNN
 * addon is installed; the gradient below falls back to tfjs's formula everywhere else.
 */
export const FUSED_RELU_GRAD = 'TransplantReluGrad';

function reluBackward(dy: Tensor, x: Tensor): Tensor {
  if (getKernel(FUSED_RELU_GRAD, getBackend()) && x.dtype === 'float32' && dy.dtype === 'float32') {
    return engine().runKernel(FUSED_RELU_GRAD, { dy, x }) as Tensor;
  }
  return mul(dy, cast(step(x), 'float32'));
}

let gradientsRegistered = false;

/**
 * Points Relu's gradient at the fused kernel when the current back end has it (else tfjs's own
 * formula, unchanged), and gives the fused kernel its own gradient so that higher-order
 * derivatives still work: linear in dy with the same mask, zero in x (step's gradient).
 * Idempotent; the registry is global, so this is done once per process.
 */
export function registerFusedReluGradient(): void {
  if (gradientsRegistered) return;
  gradientsRegistered = true;
  registerGradient({
    kernelName: 'Relu',
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => {
      const [x] = saved as Tensor[];
      return { x: () => reluBackward(dy as Tensor, x!) };
    },
  });
  registerGradient({
    kernelName: FUSED_RELU_GRAD,
    inputsToSave: ['x'],
    gradFunc: (g, saved) => {
      const [x] = saved as Tensor[];
      return { dy: () => reluBackward(g as Tensor, x!), x: () => zerosLike(x!) };
    },
  });
}

/** Relu forward and the fused Relu gradient as multi-threaded addon loops (small tensors keep the stock kernel). */
export function reluPatches(addon: OnednnAddon): KernelPatch[] {
  return [
    {
      kernelName: 'Relu',
      backendName: 'wasm',
      purpose: 'relu as a multi-threaded loop (float32 maps of ≥ 32k elements)',
      build: (previous) =>
        withSetup('Relu', previous, (args) => {
          const backend = args.backend as WasmHeapBackend;
          const { x } = args.inputs as { x: TensorInfo };
          const size = util.sizeFromShape(x.shape);
          if (x.dtype !== 'float32' || size < MIN_ELEMENTS) return fallback(previous, args);
          const out = backend.makeOutput([...x.shape], 'float32');
          addon.relu(heapOf(backend), { size, xOff: offsetOf(backend, x), yOff: offsetOf(backend, out) });
          return out;
        }),
    },
    {
      kernelName: FUSED_RELU_GRAD,
      backendName: 'wasm',
      purpose: "Relu's gradient dy·step(x) in one multi-threaded pass (tfjs runs step, cast and mul)",
      build: () => ({
        kernelName: FUSED_RELU_GRAD,
        backendName: 'wasm',
        kernelFunc: (args) => {
          const backend = args.backend as WasmHeapBackend;
          const { dy, x } = args.inputs as { dy: TensorInfo; x: TensorInfo };
          if (!util.arraysEqual(dy.shape, x.shape))
            throw new Error(
              `${FUSED_RELU_GRAD}: dy ${JSON.stringify(dy.shape)} and x ${JSON.stringify(x.shape)} differ`,
            );
          const out = backend.makeOutput([...x.shape], 'float32');
          addon.reluGrad(heapOf(backend), {
            size: util.sizeFromShape(x.shape),
            dyOff: offsetOf(backend, dy),
            xOff: offsetOf(backend, x),
            dxOff: offsetOf(backend, out),
          });
          return out;
        },
      }),
    },
  ];
}
