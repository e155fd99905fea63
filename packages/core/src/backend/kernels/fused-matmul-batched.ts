import type { KernelConfig } from '@tensorflow/tfjs';
import { cpuFallbackKernelFunc } from './cpu-fallback';
import { replacing, type KernelPatch } from './kernel-patch';

/**
 * tfjs-backend-wasm 4.22's _FusedMatMul is wrong for batched inputs with a transpose (found by
 * our conformance suite). Rank-2 products (dense layers) keep the stock kernel; batched ones,
 * rare in our networks, run the cpu kernel on copied data.
 */
export const fusedMatMulBatchedPatch: KernelPatch = {
  kernelName: '_FusedMatMul',
  backendName: 'wasm',
  purpose:
    'stock kernel for rank-2 inputs; batched inputs (wrong in stock wasm) run the cpu kernel on copied data',
  build: (previous) => {
    if (!previous) throw new Error('wasm has no _FusedMatMul kernel to wrap');
    const cpu = cpuFallbackKernelFunc('_FusedMatMul');
    const kernelFunc: KernelConfig['kernelFunc'] = (args) => {
      const a = (args.inputs as Record<string, { shape: number[] }>)['a'];
      const batched = a !== undefined && a.shape.slice(0, -2).reduce((p, d) => p * d, 1) > 1;
      return batched ? cpu(args) : previous.kernelFunc(args);
    };
    return replacing('_FusedMatMul', 'wasm', previous, kernelFunc);
  },
};
