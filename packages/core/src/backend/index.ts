export { BACKENDS, BACKEND_ORDER, isBackendId, type BackendId } from './backend-ids';
export {
  selectBackend,
  type BackendAttempt,
  type BackendSelection,
  type SelectBackendOptions,
} from './select-backend';
export { installKernelPatches, uninstallKernelPatches, type InstalledPatch } from './kernels/install-patches';
export {
  BATCH_NORM_TRAIN,
  BATCH_NORM_TRAIN_GRAD,
  FUSED_RELU6_GRAD,
  onednnKernelPatches,
} from './kernels/onednn';
export { WASM_TRAINING_KERNELS } from './kernels/wasm-training-kernels';
export type { KernelPatch } from './kernels/kernel-patch';
export {
  fallbackCounts,
  noteFallback,
  resetFallbacks,
  type FallbackCount,
  type FallbackKind,
} from './kernels/fallback-log';
export {
  DEFAULT_KERNEL_PATCHES,
  onednnKernels,
  wasmTrainingKernels,
  type KernelPatchContribution,
} from './kernels/kernel-contribution';
