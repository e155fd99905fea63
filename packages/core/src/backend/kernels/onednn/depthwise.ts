import type { TensorInfo } from '@tensorflow/tfjs';
import type { ConvActivation, OnednnAddon } from '@transplant/native';
import type { ConvAttrs as BaseConvAttrs } from '../conv-geometry';
import type { KernelPatch } from '../kernel-patch';
import { heapOf, isEmpty, offsetOf, type WasmHeapBackend } from '../wasm-heap';
import { convCall, fallback, withSetup } from './conv';

type ConvAttrs = BaseConvAttrs & { activation?: string };

/** Depthwise kernels are NHWC-only in tfjs; their gradients carry no data format at all. */
const nhwc = <A extends ConvAttrs>(attrs: A): A => ({ ...attrs, dataFormat: 'NHWC' });

const ACTIVATIONS: readonly string[] = ['linear', 'relu', 'relu6'] satisfies ConvActivation[];

/**
 * Depthwise convolution and both of its gradients on oneDNN: a grouped convolution with one
 * group per input channel, whose weights {C, m, 1, kh, kw} in oneDNN's `hwigo` layout are tfjs's
 * [kh, kw, C, m] filter as it lies on the heap (no copy). The stock wasm depthwise forward is
 * XNNPACK on one thread, and tfjs-backend-wasm has no depthwise gradients at all (they ran on
 * the cpu back end with copies). FusedDepthwiseConv2D gets bias and relu/relu6 as post-ops.
 * NCHW, PReLU/leaky activations and empty shapes keep the previous kernel.
 */
export function depthwisePatches(addon: OnednnAddon): KernelPatch[] {
  const forward = (kernelName: 'DepthwiseConv2dNative' | 'FusedDepthwiseConv2D'): KernelPatch => ({
    kernelName,
    backendName: 'wasm',
    purpose: `oneDNN depthwise convolution (grouped, NHWC in place${kernelName === 'FusedDepthwiseConv2D' ? '; bias and relu/relu6 as post-ops' : ''})`,
    build: (previous) =>
      withSetup(kernelName, previous, (args) => {
        const { inputs, attrs } = args as unknown as {
          inputs: Record<string, TensorInfo | undefined>;
          attrs: ConvAttrs;
        };
        const backend = args.backend as WasmHeapBackend;
        const { x, filter, bias, preluActivationWeights } = inputs;
        const activation = attrs.activation ?? 'linear';
        const outChannels = filter ? filter.shape[2]! * filter.shape[3]! : 0;
        const supported =
          x &&
          filter &&
          x.dtype === 'float32' &&
          attrs.dataFormat !== 'NCHW' &&
          !preluActivationWeights &&
          ACTIVATIONS.includes(activation) &&
          (!bias || (bias.shape.length === 1 && bias.shape[0] === outChannels));
        if (!supported || isEmpty(x.shape, filter.shape)) return fallback(previous, args);
        const call = convCall(x.shape, filter.shape, nhwc(attrs), true);
        const out = backend.makeOutput(call.y, 'float32');
        addon.conv2dForward(heapOf(backend), {
          ...call,
          xOff: offsetOf(backend, x),
          wOff: offsetOf(backend, filter),
          biasOff: bias ? offsetOf(backend, bias) : -1,
          yOff: offsetOf(backend, out),
          activation: activation as ConvActivation,
        });
        return out;
      }),
  });

  const backpropInput: KernelPatch = {
    kernelName: 'DepthwiseConv2dNativeBackpropInput',
    backendName: 'wasm',
    purpose: 'oneDNN backward-data depthwise convolution (tfjs-backend-wasm has none)',
    build: (previous) =>
      withSetup('DepthwiseConv2dNativeBackpropInput', previous, (args) => {
        const { inputs, attrs } = args as unknown as {
          inputs: { dy: TensorInfo; filter: TensorInfo };
          attrs: ConvAttrs & { inputShape: number[] };
        };
        const backend = args.backend as WasmHeapBackend;
        if (inputs.dy.dtype !== 'float32' || isEmpty(inputs.dy.shape, inputs.filter.shape, attrs.inputShape))
          return fallback(previous, args);
        const call = convCall(attrs.inputShape, inputs.filter.shape, nhwc(attrs), true);
        const out = backend.makeOutput([...attrs.inputShape], 'float32');
        addon.conv2dBackwardData(heapOf(backend), {
          ...call,
          dyOff: offsetOf(backend, inputs.dy),
          wOff: offsetOf(backend, inputs.filter),
          dxOff: offsetOf(backend, out),
        });
        return out;
      }),
  };

  const backpropFilter: KernelPatch = {
    kernelName: 'DepthwiseConv2dNativeBackpropFilter',
    backendName: 'wasm',
    purpose: 'oneDNN backward-weights depthwise convolution (tfjs-backend-wasm has none)',
    build: (previous) =>
      withSetup('DepthwiseConv2dNativeBackpropFilter', previous, (args) => {
        const { inputs, attrs } = args as unknown as {
          inputs: { x: TensorInfo; dy: TensorInfo };
          attrs: ConvAttrs & { filterShape: number[] };
        };
        const backend = args.backend as WasmHeapBackend;
        if (inputs.x.dtype !== 'float32' || isEmpty(inputs.x.shape, inputs.dy.shape, attrs.filterShape))
          return fallback(previous, args);
        const call = convCall(inputs.x.shape, attrs.filterShape, nhwc(attrs), true);
        const out = backend.makeOutput([...attrs.filterShape], 'float32');
        addon.conv2dBackwardWeights(heapOf(backend), {
          ...call,
          xOff: offsetOf(backend, inputs.x),
          dyOff: offsetOf(backend, inputs.dy),
          dwOff: offsetOf(backend, out),
        });
        return out;
      }),
  };

  return [forward('DepthwiseConv2dNative'), forward('FusedDepthwiseConv2D'), backpropInput, backpropFilter];
}
