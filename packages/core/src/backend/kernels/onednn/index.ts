import type { OnednnAddon } from '@transplant/native';
import type { KernelPatch } from '../kernel-patch';
import { channelOpPatches } from './channel-ops';
import { conv2DBackpropFilterPatch, conv2DBackpropInputPatch, conv2DPatches } from './conv';
import { depthwisePatches } from './depthwise';
import { matMulPatches, maxPoolPatches } from './pool-matmul';
import { reluPatches } from './relu';

export { FUSED_RELU_GRAD, registerFusedReluGradient } from './relu';

/** The kernels the oneDNN addon takes over on the wasm back end (installed over the wasm training kernels). */
export function onednnKernelPatches(addon: OnednnAddon): KernelPatch[] {
  return [
    ...conv2DPatches(addon),
    conv2DBackpropInputPatch(addon),
    conv2DBackpropFilterPatch(addon),
    ...depthwisePatches(addon),
    ...maxPoolPatches(addon),
    ...matMulPatches(addon),
    ...channelOpPatches(addon),
    ...reluPatches(addon),
  ];
}
