import { getKernel, registerKernel, unregisterKernel, type KernelConfig } from '@tensorflow/tfjs';
import { TransplantError } from '../../errors';
import type { KernelPatch } from './kernel-patch';

/** Marks the configs we registered, so that installing twice is a no-op, not a double wrap. */
const INSTALLED = new WeakSet<KernelConfig>();

export interface InstalledPatch {
  readonly kernelName: string;
  readonly backendName: string;
  readonly purpose: string;
  /** Whether a kernel was registered before ours (we keep it to fall back to). */
  readonly replaced: boolean;
}

/**
 * Registers each patch through tfjs's public kernel registry, keeping the kernel it replaces
 * so the patch can fall back to it. Call before the back end is initialised so that kept
 * `setupFunc`s run; calling again is harmless.
 */
export function installKernelPatches(patches: readonly KernelPatch[]): InstalledPatch[] {
  return patches.map((patch) => {
    const previous = getKernel(patch.kernelName, patch.backendName);
    const record = {
      kernelName: patch.kernelName,
      backendName: patch.backendName,
      purpose: patch.purpose,
      replaced: previous !== undefined && !INSTALLED.has(previous),
    };
    if (previous !== undefined && INSTALLED.has(previous)) return record;
    try {
      const config = patch.build(previous);
      if (previous !== undefined) unregisterKernel(patch.kernelName, patch.backendName);
      registerKernel(config);
      INSTALLED.add(config);
    } catch (cause) {
      throw new TransplantError('E_KERNEL_REGISTRATION', `could not register ${patch.kernelName}`, {
        module: `${patch.backendName}/${patch.kernelName}`,
        operation: 'installKernelPatches',
        cause,
      });
    }
    return record;
  });
}
