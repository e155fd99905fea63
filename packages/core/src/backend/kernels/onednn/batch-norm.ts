import {
  engine,
  getBackend,
  getKernel,
  registerGradient,
  util,
  type NamedAttrMap,
  type Tensor,
  type TensorInfo,
} from '@tensorflow/tfjs';
import type { OnednnAddon } from '@transplant/native';
import type { KernelPatch } from '../kernel-patch';
import { fallback, withSetup } from './conv';
import { heapOf, offsetOf, type WasmHeapBackend } from '../wasm-heap';

/**
 * Batch norm in training as two kernels of the addon. tfjs-layers' BatchNormalization trains
 * through `moments` and `batchNorm`: about 6 kernels forward and more than 20 full-size passes
 * backward per layer (a full-size Tile, a JavaScript array of ones uploaded twice, transposes
 * before each Mean), all on one thread. These do it in 2 passes forward and 2 backward,
 * multi-threaded, with per-channel sums in double. Inputs x [..., C], γ [C], β [C]; outputs
 * y, the batch mean [C] and its biased variance [C] (what tfjs's moments gives).
 */
export const BATCH_NORM_TRAIN = 'TransplantBatchNormTrain';
export const BATCH_NORM_TRAIN_GRAD = 'TransplantBatchNormTrainGrad';

interface EpsilonAttrs {
  readonly epsilon: number;
}

/**
 * Batch norm over the last axis of `x` with the batch's statistics, on the fused kernels: null
 * where the current back end does not have them (the caller then uses tfjs's ops).
 */
export function batchNormTrain(
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  epsilon: number,
): [Tensor, Tensor, Tensor] | null {
  const channels = x.shape.at(-1);
  if (
    !getKernel(BATCH_NORM_TRAIN, getBackend()) ||
    x.dtype !== 'float32' ||
    x.rank < 2 ||
    channels === undefined ||
    gamma.size !== channels ||
    beta.size !== channels
  )
    return null;
  const attrs: EpsilonAttrs = { epsilon };
  return engine().runKernel(BATCH_NORM_TRAIN, { x, gamma, beta }, attrs as unknown as NamedAttrMap) as [
    Tensor,
    Tensor,
    Tensor,
  ];
}

let gradientRegistered = false;

/** BATCH_NORM_TRAIN's gradient: one backward kernel for x, γ and β (idempotent; the registry is global). */
export function registerBatchNormTrainGradient(): void {
  if (gradientRegistered) return;
  gradientRegistered = true;
  registerGradient({
    kernelName: BATCH_NORM_TRAIN,
    inputsToSave: ['x', 'gamma'],
    outputsToSave: [false, true, true],
    gradFunc: (dys, saved, attrs) => {
      const [dy, dMean, dVariance] = dys as Tensor[];
      const [x, gamma, mean, variance] = saved as Tensor[];
      // One kernel gives all three gradients. It runs here, in the scope of the whole backward
      // pass, not in the per-input scopes the engine calls the closures in: a gradient nobody
      // asks for (a frozen γ) is freed with that scope instead of leaking.
      const [dx, dGamma, dBeta] = engine().runKernel(
        BATCH_NORM_TRAIN_GRAD,
        {
          dy: dy!,
          x: x!,
          mean: mean!,
          variance: variance!,
          gamma: gamma!,
          dMean: dMean!,
          dVariance: dVariance!,
        },
        attrs,
      ) as Tensor[];
      return { x: () => dx!, gamma: () => dGamma!, beta: () => dBeta! };
    },
  });
}

/** FusedBatchNorm (inference) and the two training kernels as multi-threaded loops of the addon. */
export function batchNormPatches(addon: OnednnAddon): KernelPatch[] {
  const rowsOf = (x: TensorInfo) => util.sizeFromShape(x.shape) / x.shape[x.shape.length - 1]!;
  const perChannel = (t: TensorInfo | undefined, channels: number) =>
    t === undefined || (t.dtype === 'float32' && t.shape.length === 1 && t.shape[0] === channels);
  return [
    {
      kernelName: 'FusedBatchNorm',
      backendName: 'wasm',
      purpose:
        'batch norm with per-channel statistics as one multi-threaded pass (broadcasts keep the stock kernel)',
      build: (previous) =>
        withSetup('FusedBatchNorm', previous, (args) => {
          const backend = args.backend as WasmHeapBackend;
          const { x, mean, variance, scale, offset } = args.inputs as Record<string, TensorInfo | undefined>;
          const { varianceEpsilon } = args.attrs as { varianceEpsilon: number };
          const channels = x?.shape.at(-1) ?? 0;
          if (
            !x ||
            !mean ||
            !variance ||
            x.dtype !== 'float32' ||
            x.shape.length < 2 ||
            channels === 0 ||
            ![mean, variance, scale, offset].every((t) => perChannel(t, channels))
          )
            return fallback(previous, args);
          const out = backend.makeOutput([...x.shape], 'float32');
          addon.batchNormInference(heapOf(backend), {
            rows: rowsOf(x),
            channels,
            epsilon: varianceEpsilon,
            xOff: offsetOf(backend, x),
            meanOff: offsetOf(backend, mean),
            varianceOff: offsetOf(backend, variance),
            scaleOff: scale ? offsetOf(backend, scale) : -1,
            offsetOff: offset ? offsetOf(backend, offset) : -1,
            yOff: offsetOf(backend, out),
          });
          return out;
        }),
    },
    {
      kernelName: BATCH_NORM_TRAIN,
      backendName: 'wasm',
      purpose: 'batch norm in training: batch statistics and the normalised map in 2 multi-threaded passes',
      build: () => ({
        kernelName: BATCH_NORM_TRAIN,
        backendName: 'wasm',
        kernelFunc: (args) => {
          const backend = args.backend as WasmHeapBackend;
          const { x, gamma, beta } = args.inputs as Record<string, TensorInfo>;
          const { epsilon } = args.attrs as unknown as EpsilonAttrs;
          const channels = x!.shape.at(-1)!;
          const y = backend.makeOutput([...x!.shape], 'float32');
          const mean = backend.makeOutput([channels], 'float32');
          const variance = backend.makeOutput([channels], 'float32');
          addon.batchNormTrain(heapOf(backend), {
            rows: rowsOf(x!),
            channels,
            epsilon,
            xOff: offsetOf(backend, x!),
            gammaOff: offsetOf(backend, gamma!),
            betaOff: offsetOf(backend, beta!),
            yOff: offsetOf(backend, y),
            meanOff: offsetOf(backend, mean),
            varianceOff: offsetOf(backend, variance),
          });
          return [y, mean, variance];
        },
      }),
    },
    {
      kernelName: BATCH_NORM_TRAIN_GRAD,
      backendName: 'wasm',
      purpose: "batch norm's gradient (x, γ, β) in 2 multi-threaded passes",
      build: () => ({
        kernelName: BATCH_NORM_TRAIN_GRAD,
        backendName: 'wasm',
        kernelFunc: (args) => {
          const backend = args.backend as WasmHeapBackend;
          const { dy, x, mean, variance, gamma, dMean, dVariance } = args.inputs as Record<
            string,
            TensorInfo
          >;
          const { epsilon } = args.attrs as unknown as EpsilonAttrs;
          const channels = x!.shape.at(-1)!;
          const dx = backend.makeOutput([...x!.shape], 'float32');
          const dGamma = backend.makeOutput([channels], 'float32');
          const dBeta = backend.makeOutput([channels], 'float32');
          addon.batchNormTrainGrad(heapOf(backend), {
            rows: rowsOf(x!),
            channels,
            epsilon,
            dyOff: offsetOf(backend, dy!),
            xOff: offsetOf(backend, x!),
            meanOff: offsetOf(backend, mean!),
            varianceOff: offsetOf(backend, variance!),
            gammaOff: offsetOf(backend, gamma!),
            dMeanOff: dMean ? offsetOf(backend, dMean) : -1,
            dVarianceOff: dVariance ? offsetOf(backend, dVariance) : -1,
            dxOff: offsetOf(backend, dx),
            dGammaOff: offsetOf(backend, dGamma),
            dBetaOff: offsetOf(backend, dBeta),
          });
          return [dx, dGamma, dBeta];
        },
      }),
    },
  ];
}
