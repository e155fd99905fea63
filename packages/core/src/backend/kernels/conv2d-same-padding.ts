import type { KernelConfig, NamedAttrMap } from '@tensorflow/tfjs';
import { explicitPad, forwardGeometry, type ConvAttrs } from './conv-geometry';
import { replacing, type KernelPatch } from './kernel-patch';

/**
 * tfjs-backend-wasm 4.22 computes Conv2D/FusedConv2D with 'same' padding wrongly when the
 * stride exceeds the kernel (it hands XNNPACK TensorFlow's SAME flag, e.g. stride 3 with a 2×2
 * kernel gives a different output; found by our conformance suite). Passing the padding tfjs
 * itself computes, as explicit numbers, gives the right result through the same kernel.
 */
function explicitSame(kernelName: 'Conv2D' | 'FusedConv2D'): KernelPatch {
  return {
    kernelName,
    backendName: 'wasm',
    purpose:
      "stock kernel, with 'same' padding passed as explicit pads (the stock 'same' path is wrong when stride > kernel)",
    build: (previous) => {
      if (!previous) throw new Error(`wasm has no ${kernelName} kernel to wrap`);
      const kernelFunc: KernelConfig['kernelFunc'] = (args) => {
        const attrs = args.attrs as unknown as ConvAttrs & {
          dilations?: number | [number, number];
          filterShape?: number[];
        };
        const x = (args.inputs as Record<string, { shape: number[] }>)['x'];
        const filter = (args.inputs as Record<string, { shape: number[] }>)['filter'];
        if (
          attrs.pad !== 'same' ||
          attrs.dataFormat === 'NCHW' ||
          !x ||
          !filter ||
          (attrs.dilations !== undefined &&
            attrs.dilations !== 1 &&
            !(Array.isArray(attrs.dilations) && attrs.dilations.every((d) => d === 1)))
        ) {
          return previous.kernelFunc(args);
        }
        const { top, bottom, left, right } = forwardGeometry(x.shape, filter.shape, attrs).padInfo;
        return previous.kernelFunc({
          ...args,
          attrs: { ...(args.attrs as NamedAttrMap), pad: explicitPad(top, bottom, left, right) },
        });
      };
      return replacing(kernelName, 'wasm', previous, kernelFunc);
    },
  };
}

export const conv2DSamePaddingPatches: readonly KernelPatch[] = [
  explicitSame('Conv2D'),
  explicitSame('FusedConv2D'),
];
