/** The tensor back ends Transplant can run on, in the order `selectBackend` tries them. */
export const BACKENDS = {
  tensorflow: {
    packages: ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'],
    description: 'TensorFlow C library through tfjs-node (CUDA with tfjs-node-gpu)',
  },
  'wasm+onednn': {
    packages: ['@transplant/native', '@tensorflow/tfjs-backend-wasm'],
    description:
      "wasm with convolutions, pooling and matmul on oneDNN (Debian's libdnnl, through Transplant's N-API addon), multi-threaded",
  },
  wasm: {
    packages: ['@tensorflow/tfjs-backend-wasm'],
    description: "WebAssembly + XNNPACK (SIMD), with Transplant's training kernels registered",
  },
  cpu: {
    packages: ['@tensorflow/tfjs-backend-cpu'],
    description: 'pure JavaScript; slow, the reference the other back ends are tested against',
  },
} as const;

export type BackendId = keyof typeof BACKENDS;

export const BACKEND_ORDER: readonly BackendId[] = ['tensorflow', 'wasm+onednn', 'wasm', 'cpu'];

export function isBackendId(value: string): value is BackendId {
  return Object.hasOwn(BACKENDS, value);
}
