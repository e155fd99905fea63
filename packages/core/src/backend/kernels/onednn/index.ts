import type { OnednnAddon } from '@transplant/native';
import type { KernelPatch } from '../kernel-patch';
import { batchNormPatches, registerBatchNormTrainGradient } from './batch-norm';
import { channelOpPatches } from './channel-ops';
import { clipPatches, registerFusedClipGradient } from './clip';
import { conv2DPatches, depthwisePatches } from './conv';
import { matMulPatches, maxPoolPatches } from './pool-matmul';
import { registerFusedReluGradient, reluPatches } from './relu';

export { FUSED_RELU_GRAD, FUSED_RELU6_GRAD, registerFusedReluGradient } from './relu';
export { FUSED_CLIP_GRAD } from './clip';
export { BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD, batchNormTrain } from './batch-norm';

/** The gradients that use the addon's fused kernels where the back end has them (tfjs's own formulas elsewhere). */
export function registerFusedGradients(): void {
  registerFusedReluGradient();
  registerFusedClipGradient();
  registerBatchNormTrainGradient();
}

/** The kernels the oneDNN addon takes over on the wasm back end (installed over the wasm training kernels). */
export function onednnKernelPatches(addon: OnednnAddon): KernelPatch[] {
  return [
    ...conv2DPatches(addon),
    ...depthwisePatches(addon),
    ...maxPoolPatches(addon),
    ...matMulPatches(addon),
    ...channelOpPatches(addon),
    ...reluPatches(addon),
    ...clipPatches(addon),
    ...batchNormPatches(addon),
  ];
}
