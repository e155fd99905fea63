import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';

/**
 * Convolution geometry in tfjs layouts: x/y NHWC, w HWIO (depthwise: [kh, kw, C, m], output C·m
 * channels); pads [top, left] and [bottom, right].
 */
export interface ConvCall {
  readonly x: readonly number[];
  readonly w: readonly number[];
  readonly y: readonly number[];
  readonly strides: readonly [number, number];
  readonly dilations: readonly [number, number];
  readonly padL: readonly [number, number];
  readonly padR: readonly [number, number];
  /** A depthwise convolution (oneDNN's grouped convolution, one group per input channel). */
  readonly depthwise?: boolean;
}

/** The activations a forward convolution applies as a oneDNN post-op. */
export type ConvActivation = 'linear' | 'relu' | 'relu6';

export interface PoolCall {
  readonly x: readonly number[];
  readonly y: readonly number[];
  readonly kernel: readonly [number, number];
  readonly strides: readonly [number, number];
  readonly padL: readonly [number, number];
  readonly padR: readonly [number, number];
}

/** The addon's functions; every offset is a byte offset into `heap` (the wasm back end's memory). */
export interface OnednnAddon {
  conv2dForward(
    heap: ArrayBuffer,
    call: ConvCall & {
      xOff: number;
      wOff: number;
      biasOff: number;
      yOff: number;
      activation: ConvActivation;
    },
  ): void;
  conv2dBackwardData(
    heap: ArrayBuffer,
    call: ConvCall & { dyOff: number; wOff: number; dxOff: number },
  ): void;
  conv2dBackwardWeights(
    heap: ArrayBuffer,
    call: ConvCall & { xOff: number; dyOff: number; dwOff: number },
  ): void;
  matMul(
    heap: ArrayBuffer,
    call: {
      batch: number;
      m: number;
      k: number;
      n: number;
      transposeA: boolean;
      transposeB: boolean;
      aOff: number;
      bOff: number;
      biasOff: number;
      relu: boolean;
      cOff: number;
    },
  ): void;
  /** y[r, c] = x[r, c] + b[c] over a [rows, channels] view (bias add of an NHWC map). */
  addBias(
    heap: ArrayBuffer,
    call: { rows: number; channels: number; xOff: number; bOff: number; yOff: number },
  ): void;
  /** y[c] = Σ_r x[r, c] over a [rows, channels] view (bias gradient of an NHWC map). */
  sumRows(heap: ArrayBuffer, call: { rows: number; channels: number; xOff: number; yOff: number }): void;
  /** y = x > 0 ? x : 0 over `size` floats (NaN stays NaN). */
  relu(heap: ArrayBuffer, call: { size: number; xOff: number; yOff: number }): void;
  /** dx = dy · step(x) over `size` floats (tfjs's Relu gradient in one pass). */
  reluGrad(heap: ArrayBuffer, call: { size: number; dyOff: number; xOff: number; dxOff: number }): void;
  /** y = min(max(0, x), 6) over `size` floats (NaN stays NaN, −0 gives +0). */
  relu6(heap: ArrayBuffer, call: { size: number; xOff: number; yOff: number }): void;
  /** dx = dy · m, m = 1 for 0 < x ≤ 6, NaN for NaN, else 0 (tfjs's Relu6 gradient in one pass). */
  relu6Grad(heap: ArrayBuffer, call: { size: number; dyOff: number; xOff: number; dxOff: number }): void;
  /** NHWC max pooling over the in-bounds part of each window. */
  maxPool(heap: ArrayBuffer, call: PoolCall & { xOff: number; yOff: number }): void;
  /** Max-pooling gradient from the forward output: dy goes to the first input equal to its window's maximum. */
  maxPoolGradFromOutput(
    heap: ArrayBuffer,
    call: PoolCall & { xOff: number; yOff: number; dyOff: number; dxOff: number },
  ): void;
  /**
   * Batch norm in training over a [rows, channels] view of an NHWC map: the batch mean and biased
   * variance per channel, and y = (x − mean)·γ/√(variance + ε) + β (γ, β offsets −1: 1 and 0).
   */
  batchNormTrain(
    heap: ArrayBuffer,
    call: {
      rows: number;
      channels: number;
      epsilon: number;
      xOff: number;
      gammaOff: number;
      betaOff: number;
      yOff: number;
      meanOff: number;
      varianceOff: number;
    },
  ): void;
  /** The gradient of batchNormTrain's (y, mean, variance) with respect to x, γ and β (dMean/dVariance −1: zero). */
  batchNormTrainGrad(
    heap: ArrayBuffer,
    call: {
      rows: number;
      channels: number;
      epsilon: number;
      dyOff: number;
      xOff: number;
      meanOff: number;
      varianceOff: number;
      gammaOff: number;
      dMeanOff: number;
      dVarianceOff: number;
      dxOff: number;
      dGammaOff: number;
      dBetaOff: number;
    },
  ): void;
  /** y = (x − mean)·scale/√(variance + ε) + offset with per-channel statistics (scale/offset −1: 1 and 0). */
  batchNormInference(
    heap: ArrayBuffer,
    call: {
      rows: number;
      channels: number;
      epsilon: number;
      xOff: number;
      meanOff: number;
      varianceOff: number;
      scaleOff: number;
      offsetOff: number;
      yOff: number;
    },
  ): void;
  /** y = min(max(x, lo), hi) over `size` floats (NaN stays NaN). */
  clip(heap: ArrayBuffer, call: { size: number; lo: number; hi: number; xOff: number; yOff: number }): void;
  /** dx = lo ≤ x ≤ hi ? dy : 0 (ClipByValue's gradient in one pass). */
  clipGrad(
    heap: ArrayBuffer,
    call: { size: number; lo: number; hi: number; dyOff: number; xOff: number; dxOff: number },
  ): void;
  /** [kind and geometry, oneDNN's implementation] of every convolution primitive created so far. */
  implementations(): [string, string][];
  setThreads(threads: number): void;
  info(): { onednn: string; threads: number; cpuRuntime: string };
}

export type OnednnLoad =
  | { readonly ok: true; readonly addon: OnednnAddon; readonly onednn: string; readonly threads: number }
  | { readonly ok: false; readonly reason: string };

export const ADDON_PATH = new URL('../addon/build/Release/transplant_onednn.node', import.meta.url).pathname;

let loaded: OnednnLoad | undefined;

/**
 * Loads the oneDNN addon if it was built (`npm run build:native -w @transplant/native`, needs
 * Debian's libdnnl-dev). Threads: TRANSPLANT_THREADS, else every core. Never throws: a missing
 * build or library is a reason, and everything runs without it.
 */
export function loadOnednn(env: Readonly<Record<string, string | undefined>> = process.env): OnednnLoad {
  if (loaded) return loaded;
  try {
    const addon = createRequire(import.meta.url)(ADDON_PATH) as OnednnAddon;
    const threads = Number(env['TRANSPLANT_THREADS'] ?? availableParallelism());
    addon.setThreads(Number.isInteger(threads) && threads > 0 ? threads : availableParallelism());
    const info = addon.info();
    loaded = { ok: true, addon, onednn: info.onednn, threads: info.threads };
  } catch (error) {
    const message = error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error);
    loaded = {
      ok: false,
      reason: message.includes('Cannot find module')
        ? 'the oneDNN addon is not built (in the Transplant workspace: apt-get install libdnnl-dev && npm run build:native; an installed @transplant/native carries it only when it was packed after that build)'
        : `the oneDNN addon does not load: ${message}`,
    };
  }
  return loaded;
}
