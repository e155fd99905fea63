import { getKernel, registerKernel, unregisterKernel, type KernelConfig } from '@tensorflow/tfjs';
import { TransplantError } from '../../errors';
import type { KernelPatch } from './kernel-patch';

/** For each config we registered: the patch that made it and the kernel it replaced. */
const INSTALLED = new WeakMap<KernelConfig, { patch: KernelPatch; previous: KernelConfig | undefined }>();

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
      replaced: previous !== undefined,
    };
    if (previous !== undefined && INSTALLED.get(previous)?.patch === patch) return record;
    try {
      const config = patch.build(previous);
      if (previous !== undefined) unregisterKernel(patch.kernelName, patch.backendName);
      registerKernel(config);
      INSTALLED.set(config, { patch, previous });
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

/** Puts back the kernels these patches replaced (newest first); patches not installed are left alone. */
export function uninstallKernelPatches(patches: readonly KernelPatch[]): void {
  for (const patch of [...patches].reverse()) {
    const current = getKernel(patch.kernelName, patch.backendName);
    const installed = current ? INSTALLED.get(current) : undefined;
    if (!current || installed?.patch !== patch) continue;
    unregisterKernel(patch.kernelName, patch.backendName);
    if (installed.previous) registerKernel(installed.previous);
  }
}
