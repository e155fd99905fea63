import type { KernelBackend, KernelConfig, TensorInfo } from '@tensorflow/tfjs';
import { explicitPad, forwardGeometry, type ConvAttrs } from './conv-geometry';
import { cpuFallbackKernelFunc } from './cpu-fallback';
import { release, replacing, runKernelOn, type KernelPatch } from './kernel-patch';

const KERNEL = 'Conv2DBackpropInput';

/**
 * The input gradient at stride 1 as a "full" convolution of dy with the spatially flipped,
 * in/out-swapped filter, on the back end's XNNPACK Conv2D (the stock wasm kernel is a naive
 * loop). Other strides, and paddings larger than the kernel, keep the previous kernel.
 */
function conv2DBackpropInputWasm(
  backendName: string,
  previous: KernelConfig | undefined,
): KernelConfig['kernelFunc'] {
  const fallback = previous?.kernelFunc ?? cpuFallbackKernelFunc(KERNEL);
  return (args) => {
    const { inputs, backend, attrs } = args as unknown as {
      inputs: { dy: TensorInfo; filter: TensorInfo };
      backend: KernelBackend;
      attrs: ConvAttrs & { inputShape: [number, number, number, number] };
    };
    if (attrs.dataFormat !== 'NHWC') return fallback(args);
    const { dy, filter } = inputs;
    const geometry = forwardGeometry(attrs.inputShape, filter.shape, attrs);
    const { top, bottom, left, right } = geometry.padInfo;
    const [kh, kw] = filter.shape as [number, number, number, number];
    const pads = [kh - 1 - top, kh - 1 - bottom, kw - 1 - left, kw - 1 - right] as const;
    const stride1 = geometry.strideHeight === 1 && geometry.strideWidth === 1;
    if (!stride1 || pads.some((p) => p < 0)) return fallback(args);

    const flipped = runKernelOn(backend, backendName, 'Reverse', { x: filter }, { dims: [0, 1] });
    const swapped = runKernelOn(backend, backendName, 'Transpose', { x: flipped }, { perm: [0, 1, 3, 2] });
    release(backend, flipped);
    const dx = runKernelOn(
      backend,
      backendName,
      'Conv2D',
      { x: dy, filter: swapped },
      { strides: [1, 1], pad: explicitPad(...pads), dataFormat: 'NHWC', dilations: [1, 1] },
    );
    release(backend, swapped);
    return dx;
  };
}

export const conv2DBackpropInputPatch: KernelPatch = {
  kernelName: KERNEL,
  backendName: 'wasm',
  purpose:
    'stock wasm kernel is a scalar loop; stride 1 re-expressed as an XNNPACK Conv2D, other strides keep the stock kernel',
  build: (previous) => replacing(KERNEL, 'wasm', previous, conv2DBackpropInputWasm('wasm', previous)),
};
