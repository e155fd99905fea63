import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs';
import { forwardGeometry, type ConvAttrs as BaseConvAttrs } from '../conv-geometry';
import type { ConvActivation, OnednnAddon } from '@transplant/native';
import { noteFallback } from '../fallback-log';
import { replacing, type KernelPatch } from '../kernel-patch';
import { heapOf, isEmpty, offsetOf, type WasmHeapBackend } from '../wasm-heap';

type ConvAttrs = BaseConvAttrs & { activation?: string };
type KernelArgs = Parameters<KernelConfig['kernelFunc']>[0];

/** The addon's view of a convolution: shapes, strides, dilations and pads from tfjs's own geometry. */
function convCall(
  inShape: readonly number[],
  filterShape: readonly number[],
  attrs: ConvAttrs,
  depthwise = false,
) {
  const info = forwardGeometry(inShape, filterShape, attrs, depthwise);
  const { top, left, bottom, right } = info.padInfo;
  return {
    x: [...inShape],
    w: [...filterShape],
    y: info.outShape,
    strides: [info.strideHeight, info.strideWidth] as [number, number],
    dilations: [info.dilationHeight, info.dilationWidth] as [number, number],
    padL: [top, left] as [number, number],
    padR: [bottom, right] as [number, number],
    depthwise,
  };
}

function fallback(previous: KernelConfig | undefined, args: KernelArgs): TensorInfo | TensorInfo[] {
  if (!previous) throw new Error(`no kernel to fall back to`);
  noteFallback(previous.kernelName, 'stock');
  return previous.kernelFunc(args);
}

/** A wasm kernel config replacing `previous`, keeping its setup hooks. */
function withSetup(
  kernelName: string,
  previous: KernelConfig | undefined,
  kernelFunc: KernelConfig['kernelFunc'],
): KernelConfig {
  return replacing(kernelName, 'wasm', previous, kernelFunc);
}

const ACTIVATIONS: readonly string[] = ['linear', 'relu', 'relu6'] satisfies ConvActivation[];

/**
 * Depthwise kernels are NHWC-only in tfjs and their gradients carry no data format at all; the
 * plain convolutions say NHWC or NCHW (NCHW keeps the previous kernel).
 */
const nhwc = <A extends ConvAttrs>(attrs: A): A => ({ ...attrs, dataFormat: 'NHWC' });

/**
 * A forward convolution on oneDNN: Conv2D / FusedConv2D, or with `depthwise` DepthwiseConv2dNative /
 * FusedDepthwiseConv2D (a grouped convolution, one group per input channel, whose weights
 * {C, m, 1, kh, kw} in oneDNN's `hwigo` layout are tfjs's [kh, kw, C, m] filter as it lies on the
 * heap). Bias and relu/relu6 are post-ops; NCHW, PReLU/leaky activations, non-float inputs and
 * empty shapes keep the previous kernel.
 */
function forwardPatch(addon: OnednnAddon, kernelName: string, depthwise: boolean): KernelPatch {
  const fused = kernelName.startsWith('Fused');
  return {
    kernelName,
    backendName: 'wasm',
    purpose: `oneDNN ${depthwise ? 'depthwise (grouped) ' : ''}convolution (NHWC in place on the wasm heap${fused ? '; bias and relu/relu6 as post-ops' : ''})`,
    build: (previous) =>
      withSetup(kernelName, previous, (args) => {
        const { inputs, attrs } = args as unknown as {
          inputs: Record<string, TensorInfo | undefined>;
          attrs: ConvAttrs;
        };
        const backend = args.backend as WasmHeapBackend;
        const { x, filter, bias, preluActivationWeights } = inputs;
        const activation = attrs.activation ?? 'linear';
        const outChannels = filter ? filter.shape[3]! * (depthwise ? filter.shape[2]! : 1) : 0;
        const supported =
          x &&
          filter &&
          x.dtype === 'float32' &&
          attrs.dataFormat !== 'NCHW' &&
          !preluActivationWeights &&
          ACTIVATIONS.includes(activation) &&
          (!bias || (bias.shape.length === 1 && bias.shape[0] === outChannels));
        if (!supported || isEmpty(x.shape, filter.shape)) return fallback(previous, args);
        const call = convCall(x.shape, filter.shape, nhwc(attrs), depthwise);
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
  };
}

/** The backward-data convolution (Conv2DBackpropInput, or DepthwiseConv2dNativeBackpropInput), every stride. */
function backpropInputPatch(addon: OnednnAddon, kernelName: string, depthwise: boolean): KernelPatch {
  return {
    kernelName,
    backendName: 'wasm',
    purpose: `oneDNN backward-data ${depthwise ? 'depthwise convolution (tfjs-backend-wasm has none)' : 'convolution, every stride'}`,
    build: (previous) =>
      withSetup(kernelName, previous, (args) => {
        const { inputs, attrs } = args as unknown as {
          inputs: { dy: TensorInfo; filter: TensorInfo };
          attrs: ConvAttrs & { inputShape: number[] };
        };
        const backend = args.backend as WasmHeapBackend;
        if (
          attrs.dataFormat === 'NCHW' ||
          inputs.dy.dtype !== 'float32' ||
          isEmpty(inputs.dy.shape, inputs.filter.shape, attrs.inputShape)
        )
          return fallback(previous, args);
        const call = convCall(attrs.inputShape, inputs.filter.shape, nhwc(attrs), depthwise);
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
}

/** The backward-weights convolution (Conv2DBackpropFilter, or DepthwiseConv2dNativeBackpropFilter), every stride. */
function backpropFilterPatch(addon: OnednnAddon, kernelName: string, depthwise: boolean): KernelPatch {
  return {
    kernelName,
    backendName: 'wasm',
    purpose: `oneDNN backward-weights ${depthwise ? 'depthwise convolution (tfjs-backend-wasm has none)' : 'convolution, every stride'}`,
    build: (previous) =>
      withSetup(kernelName, previous, (args) => {
        const { inputs, attrs } = args as unknown as {
          inputs: { x: TensorInfo; dy: TensorInfo };
          attrs: ConvAttrs & { filterShape: number[] };
        };
        const backend = args.backend as WasmHeapBackend;
        if (
          attrs.dataFormat === 'NCHW' ||
          inputs.x.dtype !== 'float32' ||
          isEmpty(inputs.x.shape, inputs.dy.shape, attrs.filterShape)
        )
          return fallback(previous, args);
        const call = convCall(inputs.x.shape, attrs.filterShape, nhwc(attrs), depthwise);
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
}

/** Conv2D, FusedConv2D and both gradients on oneDNN. */
export function conv2DPatches(addon: OnednnAddon): KernelPatch[] {
  return [
    forwardPatch(addon, 'Conv2D', false),
    forwardPatch(addon, 'FusedConv2D', false),
    backpropInputPatch(addon, 'Conv2DBackpropInput', false),
    backpropFilterPatch(addon, 'Conv2DBackpropFilter', false),
  ];
}

/**
 * Depthwise convolution and both of its gradients on oneDNN. The stock wasm depthwise forward is
 * XNNPACK on one thread, and tfjs-backend-wasm has no depthwise gradients at all (they ran on the
 * cpu back end with copies).
 */
export function depthwisePatches(addon: OnednnAddon): KernelPatch[] {
  return [
    forwardPatch(addon, 'DepthwiseConv2dNative', true),
    forwardPatch(addon, 'FusedDepthwiseConv2D', true),
    backpropInputPatch(addon, 'DepthwiseConv2dNativeBackpropInput', true),
    backpropFilterPatch(addon, 'DepthwiseConv2dNativeBackpropFilter', true),
  ];
}

export { fallback, withSetup };
