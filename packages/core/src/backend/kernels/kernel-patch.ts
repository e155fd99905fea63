import {
  getKernel,
  type KernelBackend,
  type KernelConfig,
  type NamedAttrMap,
  type NamedTensorInfoMap,
  type TensorInfo,
} from '@tensorflow/tfjs';
import { TransplantError } from '../../errors';

/**
 * A kernel we register on a back end through tfjs's public kernel registry. `build` receives
 * the kernel that was registered before (if any), so that a patch can fall back to it for
 * the cases it does not speed up.
 */
export interface KernelPatch {
  readonly kernelName: string;
  readonly backendName: string;
  /** Why the patch exists: printed by `transplant doctor`. */
  readonly purpose: string;
  build(previous: KernelConfig | undefined): KernelConfig;
}

/**
 * A kernel config that replaces `previous` with `kernelFunc` but keeps its setup and dispose
 * hooks: stock wasm kernels bind their wasm functions in setupFunc, and patches fall back to them.
 */
export function replacing(
  kernelName: string,
  backendName: string,
  previous: KernelConfig | undefined,
  kernelFunc: KernelConfig['kernelFunc'],
): KernelConfig {
  return {
    kernelName,
    backendName,
    kernelFunc,
    ...(previous?.setupFunc ? { setupFunc: previous.setupFunc } : {}),
    ...(previous?.disposeFunc ? { disposeFunc: previous.disposeFunc } : {}),
  };
}

/**
 * Runs another kernel of the same back end on TensorInfos, the way back ends compose their
 * own kernels. The caller owns the returned TensorInfo and must free it with `release`.
 */
export function runKernelOn(
  backend: KernelBackend,
  backendName: string,
  kernelName: string,
  inputs: NamedTensorInfoMap,
  attrs: NamedAttrMap = {},
): TensorInfo {
  const kernel = getKernel(kernelName, backendName);
  if (kernel === undefined) {
    throw new TransplantError('E_KERNEL_REGISTRATION', `kernel ${kernelName} is missing on ${backendName}`, {
      module: kernelName,
      operation: 'runKernelOn',
    });
  }
  const out = kernel.kernelFunc({ inputs, backend, attrs });
  if (Array.isArray(out)) {
    throw new TransplantError('E_KERNEL_REGISTRATION', `kernel ${kernelName} returned several outputs`, {
      module: kernelName,
      operation: 'runKernelOn',
    });
  }
  return out;
}

/** Frees intermediate TensorInfos made by `runKernelOn`. */
export function release(backend: KernelBackend, ...infos: TensorInfo[]): void {
  for (const info of infos) backend.disposeData(info.dataId);
}
