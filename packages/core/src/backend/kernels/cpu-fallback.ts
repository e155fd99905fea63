import {
  engine,
  getKernel,
  type KernelBackend,
  type KernelConfig,
  type NamedTensorInfoMap,
  type TensorInfo,
} from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-cpu';
import { TransplantError } from '../../errors';
import { noteFallback } from './fallback-log';
import type { KernelPatch } from './kernel-patch';

interface DataBackend extends KernelBackend {
  makeTensorInfo?(shape: number[], dtype: string, values?: unknown): TensorInfo;
  makeOutput?(shape: number[], dtype: string, memoryOffset?: number, values?: unknown): TensorInfo;
}

function writeOn(backend: DataBackend, shape: number[], dtype: string, values: unknown): TensorInfo {
  if (backend.makeTensorInfo) return backend.makeTensorInfo(shape, dtype, values);
  if (backend.makeOutput) return backend.makeOutput(shape, dtype, undefined, values);
  throw new TransplantError('E_KERNEL_REGISTRATION', 'the host back end cannot receive fallback outputs', {
    operation: 'cpuFallback',
  });
}

/**
 * Runs the `cpu` back end's kernel on copies of the inputs and copies the outputs back: for
 * kernels a back end lacks that are rarely hot (depthwise-conv gradients, segment sums).
 */
export function cpuFallbackKernelFunc(kernelName: string): KernelConfig['kernelFunc'] {
  return ({ inputs, backend, attrs }) => {
    const cpuKernel = getKernel(kernelName, 'cpu');
    const cpu = engine().findBackend('cpu') as DataBackend | null;
    if (cpuKernel === undefined || cpu === null) {
      throw new TransplantError('E_KERNEL_REGISTRATION', `no cpu kernel ${kernelName} to fall back to`, {
        module: kernelName,
        operation: 'cpuFallback',
      });
    }
    noteFallback(kernelName, 'cpu');
    const host = backend as DataBackend;
    const copy = (info: TensorInfo) => writeOn(cpu, info.shape, info.dtype, host.readSync(info.dataId));
    // Variadic kernels (Einsum, Concat, …) take their inputs as an array: keep that form.
    const copies = Array.isArray(inputs)
      ? (inputs as TensorInfo[]).map(copy)
      : Object.fromEntries(
          Object.entries(inputs).flatMap(([name, info]) => (info === undefined ? [] : [[name, copy(info)]])),
        );
    const result = cpuKernel.kernelFunc({ inputs: copies as NamedTensorInfoMap, backend: cpu, attrs });
    const outs = Array.isArray(result) ? result : [result];
    const moved = outs.map((options) =>
      writeOn(host, options.shape, options.dtype, cpu.readSync(options.dataId)),
    );
    for (const info of [...(Object.values(copies) as TensorInfo[]), ...outs]) cpu.disposeData(info.dataId);
    return Array.isArray(result) ? moved : (moved[0] as TensorInfo);
  };
}

export function cpuFallbackPatch(kernelName: string, backendName: string, purpose: string): KernelPatch {
  return {
    kernelName,
    backendName,
    purpose,
    build: () => ({ kernelName, backendName, kernelFunc: cpuFallbackKernelFunc(kernelName) }),
  };
}
