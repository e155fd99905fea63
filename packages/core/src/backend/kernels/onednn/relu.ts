import {
  cast,
  engine,
  getBackend,
  getKernel,
  lessEqual,
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
/** The same for Relu6 (tfjs: mul(dy, cast(mul(lessEqual(x, 6), step(x))))): five kernels in one pass. */
export const FUSED_RELU6_GRAD = 'TransplantRelu6Grad';

const fused = (kernel: string, dy: Tensor, x: Tensor) =>
  getKernel(kernel, getBackend()) !== undefined && x.dtype === 'float32' && dy.dtype === 'float32';

function reluBackward(dy: Tensor, x: Tensor): Tensor {
  if (fused(FUSED_RELU_GRAD, dy, x)) return engine().runKernel(FUSED_RELU_GRAD, { dy, x }) as Tensor;
  return mul(dy, cast(step(x), 'float32'));
}

function relu6Backward(dy: Tensor, x: Tensor): Tensor {
  if (fused(FUSED_RELU6_GRAD, dy, x)) return engine().runKernel(FUSED_RELU6_GRAD, { dy, x }) as Tensor;
  return mul(dy, cast(mul(lessEqual(x, 6), step(x)), 'float32'));
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
  for (const [kernelName, fusedName, backward] of [
    ['Relu', FUSED_RELU_GRAD, reluBackward],
    ['Relu6', FUSED_RELU6_GRAD, relu6Backward],
  ] as const) {
    registerGradient({
      kernelName,
      inputsToSave: ['x'],
      gradFunc: (dy, saved) => {
        const [x] = saved as Tensor[];
        return { x: () => backward(dy as Tensor, x!) };
      },
    });
    registerGradient({
      kernelName: fusedName,
      inputsToSave: ['x'],
      gradFunc: (g, saved) => {
        const [x] = saved as Tensor[];
        return { dy: () => backward(g as Tensor, x!), x: () => zerosLike(x!) };
      },
    });
  }
}

type ElementwiseAddon = Pick<OnednnAddon, 'relu' | 'relu6' | 'reluGrad' | 'relu6Grad'>;

/** Relu and Relu6 forward and their fused gradients as multi-threaded addon loops (small tensors keep the stock kernel). */
export function reluPatches(addon: OnednnAddon): KernelPatch[] {
  const variants = [
    { kernelName: 'Relu', gradName: FUSED_RELU_GRAD, forward: 'relu', backward: 'reluGrad' },
    { kernelName: 'Relu6', gradName: FUSED_RELU6_GRAD, forward: 'relu6', backward: 'relu6Grad' },
  ] as const satisfies readonly {
    kernelName: string;
    gradName: string;
    forward: keyof ElementwiseAddon;
    backward: keyof ElementwiseAddon;
  }[];
  return variants.flatMap(({ kernelName, gradName, forward, backward }): KernelPatch[] => [
    {
      kernelName,
      backendName: 'wasm',
      purpose: `${kernelName.toLowerCase()} as a multi-threaded loop (float32 maps of ≥ 32k elements)`,
      build: (previous) =>
        withSetup(kernelName, previous, (args) => {
          const backend = args.backend as WasmHeapBackend;
          const { x } = args.inputs as { x: TensorInfo };
          const size = util.sizeFromShape(x.shape);
          if (x.dtype !== 'float32' || size < MIN_ELEMENTS) return fallback(previous, args);
          const out = backend.makeOutput([...x.shape], 'float32');
          addon[forward](heapOf(backend), { size, xOff: offsetOf(backend, x), yOff: offsetOf(backend, out) });
          return out;
        }),
    },
    {
      kernelName: gradName,
      backendName: 'wasm',
      purpose: `${kernelName}'s gradient in one multi-threaded pass`,
      build: () => ({
        kernelName: gradName,
        backendName: 'wasm',
        kernelFunc: (args) => {
          const backend = args.backend as WasmHeapBackend;
          const { dy, x } = args.inputs as { dy: TensorInfo; x: TensorInfo };
          if (!util.arraysEqual(dy.shape, x.shape))
            throw new Error(
              `${gradName}: dy ${JSON.stringify(dy.shape)} and x ${JSON.stringify(x.shape)} differ`,
            );
          const out = backend.makeOutput([...x.shape], 'float32');
          addon[backward](heapOf(backend), {
            size: util.sizeFromShape(x.shape),
            dyOff: offsetOf(backend, dy),
            xOff: offsetOf(backend, x),
            dxOff: offsetOf(backend, out),
          });
          return out;
        },
      }),
    },
  ]);
}
