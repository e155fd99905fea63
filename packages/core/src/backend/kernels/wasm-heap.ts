import type { KernelBackend, TensorInfo } from '@tensorflow/tfjs';

/** The parts of tfjs-backend-wasm's BackendWasm the oneDNN kernels use to work on its heap in place. */
export interface WasmHeapBackend extends KernelBackend {
  readonly dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  readonly wasm: { readonly HEAPU8: Uint8Array };
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
}

export function offsetOf(backend: WasmHeapBackend, info: TensorInfo): number {
  const entry = backend.dataIdMap.get(info.dataId);
  if (!entry) throw new Error('tensor is not on the wasm heap');
  return entry.memoryOffset;
}

/** The heap's current buffer: read it after every allocation, since growing memory replaces it. */
export function heapOf(backend: WasmHeapBackend): ArrayBuffer {
  return backend.wasm.HEAPU8.buffer as ArrayBuffer;
}

export function isEmpty(...shapes: readonly (readonly number[])[]): boolean {
  return shapes.some((s) => s.some((d) => d === 0));
}
