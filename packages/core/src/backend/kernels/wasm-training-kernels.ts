import { conv2DBackpropFilterPatch } from './conv2d-backprop-filter';
import { conv2DBackpropInputPatch } from './conv2d-backprop-input';
import { conv2DSamePaddingPatches } from './conv2d-same-padding';
import { cpuFallbackPatch } from './cpu-fallback';
import { fusedMatMulBatchedPatch } from './fused-matmul-batched';
import { gatherRowsPatch } from './gather-rows';
import { identityPatch } from './identity';
import { maxPoolGradPatch } from './max-pool-grad';
import type { KernelPatch } from './kernel-patch';

const RARE = 'missing in tfjs-backend-wasm; rarely hot, so it runs the cpu kernel on copied data';

/** The kernels tfjs-backend-wasm 4.22 lacks, runs slowly or gets wrong, and ours for them. */
export const WASM_TRAINING_KERNELS: readonly KernelPatch[] = [
  conv2DBackpropFilterPatch,
  conv2DBackpropInputPatch,
  cpuFallbackPatch('DepthwiseConv2dNativeBackpropFilter', 'wasm', RARE),
  cpuFallbackPatch('DepthwiseConv2dNativeBackpropInput', 'wasm', RARE),
  cpuFallbackPatch('UnsortedSegmentSum', 'wasm', RARE),
  cpuFallbackPatch('Einsum', 'wasm', RARE),
  ...conv2DSamePaddingPatches,
  fusedMatMulBatchedPatch,
  maxPoolGradPatch,
  identityPatch,
  gatherRowsPatch,
];
