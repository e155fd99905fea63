import type { OnednnAddon } from '@transplant/native';
import type { KernelPatch } from './kernel-patch';
import { onednnKernelPatches, registerFusedGradients } from './onednn';
import { WASM_TRAINING_KERNELS } from './wasm-training-kernels';

/**
 * A set of kernels the back-end selector installs: the contribution point of kernel patches
 * (multi-bound under `CORE_TOKENS.KernelPatchContribution`). A `wasm` set goes on the wasm back
 * end with or without oneDNN; an `onednn` set goes over the wasm sets only where the oneDNN addon
 * loads, and comes off again when plain wasm is selected.
 */
export type KernelPatchContribution =
  | {
      readonly id: string;
      readonly layer: 'wasm';
      readonly patches: readonly KernelPatch[];
    }
  | {
      readonly id: string;
      readonly layer: 'onednn';
      /** Called once per addon instance; the result is kept so a reinstall is recognised as the same. */
      patches(addon: OnednnAddon): readonly KernelPatch[];
      /** Runs after the set is installed (e.g. gradients that use its kernels). */
      afterInstall?(): void;
    };

/** The kernels tfjs-backend-wasm lacks or gets wrong for training. */
export const wasmTrainingKernels: KernelPatchContribution = {
  id: 'wasm-training',
  layer: 'wasm',
  patches: WASM_TRAINING_KERNELS,
};

/** The oneDNN addon's kernels; the Relu, ClipByValue and batch-norm gradients then use fused kernels where the back end has them. */
export const onednnKernels: KernelPatchContribution = {
  id: 'onednn',
  layer: 'onednn',
  patches: onednnKernelPatches,
  afterInstall: registerFusedGradients,
};

/** What `selectBackend` installs when it is not given its kernels (the core container module binds the same). */
export const DEFAULT_KERNEL_PATCHES: readonly KernelPatchContribution[] = [
  wasmTrainingKernels,
  onednnKernels,
];
