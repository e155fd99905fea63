import type { KernelBackend, KernelConfig, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs';
import { explicitPad, forwardGeometry, type ConvAttrs } from './conv-geometry';
import { cpuFallbackKernelFunc } from './cpu-fallback';
import { release, runKernelOn, type KernelPatch } from './kernel-patch';

const KERNEL = 'Conv2DBackpropFilter';

/**
 * The filter gradient, which tfjs-backend-wasm lacks, as one convolution on the back end's
 * own (XNNPACK) Conv2D. With x: [N,H,W,Ci] and dy: [N,OH,OW,Co],
 *   dW[kh,kw,ci,co] = Σ_n,oh,ow x[n, oh·s+kh−top, ow·s+kw−left, ci] · dy[n,oh,ow,co],
 * which is a convolution of x viewed as [Ci,H,W,N] (batch Ci, channels N) with dy viewed as a
 * [OH,OW,N,Co] filter dilated by the forward stride, then read back as [KH,KW,Ci,Co].
 */
function conv2DBackpropFilterWasm(backendName: string): KernelConfig['kernelFunc'] {
  const fallback = cpuFallbackKernelFunc(KERNEL);
  return (args) => {
    const { inputs, backend, attrs } = args as unknown as {
      inputs: { x: TensorInfo; dy: TensorInfo };
      backend: KernelBackend;
      attrs: ConvAttrs & { filterShape: [number, number, number, number] };
    };
    if (attrs.dataFormat !== 'NHWC') return fallback(args);
    const { x, dy } = inputs;
    const geometry = forwardGeometry(x.shape, attrs.filterShape, attrs);
    const { top, bottom, left, right } = geometry.padInfo;
    const [kh, kw, ci, co] = attrs.filterShape;
    const run = (name: string, ins: Record<string, TensorInfo>, at: NamedAttrMap) =>
      runKernelOn(backend, backendName, name, ins, at);

    const xT = run('Transpose', { x }, { perm: [3, 1, 2, 0] });
    const dyT = run('Transpose', { x: dy }, { perm: [1, 2, 0, 3] });
    const full = run(
      'Conv2D',
      { x: xT, filter: dyT },
      {
        strides: [1, 1],
        pad: explicitPad(top, bottom, left, right),
        dataFormat: 'NHWC',
        dilations: [geometry.strideHeight, geometry.strideWidth],
      },
    );
    release(backend, xT, dyT);
    let cropped = full;
    if (full.shape[1] !== kh || full.shape[2] !== kw) {
      cropped = run('Slice', { x: full }, { begin: [0, 0, 0, 0], size: [ci, kh, kw, co] });
      release(backend, full);
    }
    const dW = run('Transpose', { x: cropped }, { perm: [1, 2, 0, 3] });
    release(backend, cropped);
    return dW;
  };
}

export const conv2DBackpropFilterPatch: KernelPatch = {
  kernelName: KERNEL,
  backendName: 'wasm',
  purpose: 'missing in tfjs-backend-wasm; computed as one XNNPACK convolution (transposes + dilated Conv2D)',
  build: () => ({ kernelName: KERNEL, backendName: 'wasm', kernelFunc: conv2DBackpropFilterWasm('wasm') }),
};
