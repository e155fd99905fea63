import {
  cast,
  engine,
  getBackend,
  getKernel,
  greaterEqual,
  lessEqual,
  logicalAnd,
  registerGradient,
  util,
  where,
  zerosLike,
  type NamedAttrMap,
  type Tensor,
  type TensorInfo,
} from '@tensorflow/tfjs';
import type { OnednnAddon } from '@transplant/native';
import type { KernelPatch } from '../kernel-patch';
import { MIN_ELEMENTS } from './channel-ops';
import { fallback, withSetup } from './conv';
import { heapOf, offsetOf, type WasmHeapBackend } from '../wasm-heap';

/**
 * ClipByValue is how tfjs-layers' ReLU(maxValue) — Keras's ReLU(6.), in every imported
 * MobileNet — caps its output. tfjs's gradient is where(logicalAnd(x ≥ lo, x ≤ hi), dy, 0):
 * five kernels and four full-size temporaries. This kernel does it in one multi-threaded pass,
 * to the bit; the gradient below falls back to tfjs's formula where the kernel is absent.
 */
export const FUSED_CLIP_GRAD = 'TransplantClipGrad';

interface ClipAttrs {
  readonly clipValueMin: number;
  readonly clipValueMax: number;
}

function clipBackward(dy: Tensor, x: Tensor, attrs: ClipAttrs): Tensor {
  if (getKernel(FUSED_CLIP_GRAD, getBackend()) && x.dtype === 'float32' && dy.dtype === 'float32')
    return engine().runKernel(FUSED_CLIP_GRAD, { dy, x }, attrs as unknown as NamedAttrMap) as Tensor;
  const inside = logicalAnd(greaterEqual(x, attrs.clipValueMin), lessEqual(x, attrs.clipValueMax));
  return where(inside, cast(dy, x.dtype), zerosLike(dy));
}

let gradientsRegistered = false;

/** ClipByValue's gradient through the fused kernel where the back end has it; the kernel's own gradient is linear in dy. */
export function registerFusedClipGradient(): void {
  if (gradientsRegistered) return;
  gradientsRegistered = true;
  registerGradient({
    kernelName: 'ClipByValue',
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved as Tensor[];
      return { x: () => clipBackward(dy as Tensor, x!, attrs as unknown as ClipAttrs) };
    },
  });
  registerGradient({
    kernelName: FUSED_CLIP_GRAD,
    inputsToSave: ['x'],
    gradFunc: (g, saved, attrs) => {
      const [x] = saved as Tensor[];
      return {
        dy: () => clipBackward(g as Tensor, x!, attrs as unknown as ClipAttrs),
        x: () => zerosLike(x!),
      };
    },
  });
}

/** ClipByValue and its fused gradient as multi-threaded addon loops (small tensors keep the stock kernel). */
export function clipPatches(addon: OnednnAddon): KernelPatch[] {
  return [
    {
      kernelName: 'ClipByValue',
      backendName: 'wasm',
      purpose: 'clip as a multi-threaded loop (float32 maps of ≥ 32k elements)',
      build: (previous) =>
        withSetup('ClipByValue', previous, (args) => {
          const backend = args.backend as WasmHeapBackend;
          const { x } = args.inputs as { x: TensorInfo };
          const { clipValueMin, clipValueMax } = args.attrs as unknown as ClipAttrs;
          const size = util.sizeFromShape(x.shape);
          if (x.dtype !== 'float32' || size < MIN_ELEMENTS) return fallback(previous, args);
          const out = backend.makeOutput([...x.shape], 'float32');
          addon.clip(heapOf(backend), {
            size,
            lo: clipValueMin,
            hi: clipValueMax,
            xOff: offsetOf(backend, x),
            yOff: offsetOf(backend, out),
          });
          return out;
        }),
    },
    {
      kernelName: FUSED_CLIP_GRAD,
      backendName: 'wasm',
      purpose: "ClipByValue's gradient in one multi-threaded pass (tfjs runs five kernels)",
      build: () => ({
        kernelName: FUSED_CLIP_GRAD,
        backendName: 'wasm',
        kernelFunc: (args) => {
          const backend = args.backend as WasmHeapBackend;
          const { dy, x } = args.inputs as { dy: TensorInfo; x: TensorInfo };
          const { clipValueMin, clipValueMax } = args.attrs as unknown as ClipAttrs;
          if (!util.arraysEqual(dy.shape, x.shape))
            throw new Error(
              `${FUSED_CLIP_GRAD}: dy ${JSON.stringify(dy.shape)} and x ${JSON.stringify(x.shape)} differ`,
            );
          const out = backend.makeOutput([...x.shape], 'float32');
          addon.clipGrad(heapOf(backend), {
            size: util.sizeFromShape(x.shape),
            lo: clipValueMin,
            hi: clipValueMax,
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
