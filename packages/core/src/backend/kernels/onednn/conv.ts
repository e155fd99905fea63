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

/** Conv2D and FusedConv2D (bias + relu/relu6 as oneDNN post-ops); other activations and NCHW keep the previous kernel. */
export function conv2DPatches(addon: OnednnAddon): KernelPatch[] {
  const forward = (kernelName: 'Conv2D' | 'FusedConv2D'): KernelPatch => ({
    kernelName,
    backendName: 'wasm',
    purpose: `oneDNN convolution (NHWC in place on the wasm heap${kernelName === 'FusedConv2D' ? '; bias and relu/relu6 as post-ops' : ''})`,
    build: (previous) =>
      withSetup(kernelName, previous, (args) => {
        const { inputs, attrs } = args as unknown as {
          inputs: Record<string, TensorInfo | undefined>;
          attrs: ConvAttrs;
        };
        const backend = args.backend as WasmHeapBackend;
        const { x, filter, bias, preluActivationWeights } = inputs;
        const activation = attrs.activation ?? 'linear';
        const supported =
          x &&
          filter &&
          attrs.dataFormat !== 'NCHW' &&
          !preluActivationWeights &&
          (activation === 'linear' || activation === 'relu' || activation === 'relu6') &&
          (!bias || (bias.shape.length === 1 && bias.shape[0] === filter.shape[3]));
        if (!supported || isEmpty(x.shape, filter.shape)) return fallback(previous, args);
        const call = convCall(x.shape, filter.shape, attrs);
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
  return [forward('Conv2D'), forward('FusedConv2D')];
}

export function conv2DBackpropInputPatch(addon: OnednnAddon): KernelPatch {
  return {
    kernelName: 'Conv2DBackpropInput',
    backendName: 'wasm',
    purpose: 'oneDNN backward-data convolution, every stride',
    build: (previous) =>
      withSetup('Conv2DBackpropInput', previous, (args) => {
        const { inputs, attrs } = args as unknown as {
          inputs: { dy: TensorInfo; filter: TensorInfo };
          attrs: ConvAttrs & { inputShape: number[] };
        };
        const backend = args.backend as WasmHeapBackend;
        if (attrs.dataFormat === 'NCHW' || isEmpty(inputs.dy.shape, inputs.filter.shape, attrs.inputShape))
          return fallback(previous, args);
        const call = convCall(attrs.inputShape, inputs.filter.shape, attrs);
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

export function conv2DBackpropFilterPatch(addon: OnednnAddon): KernelPatch {
  return {
    kernelName: 'Conv2DBackpropFilter',
    backendName: 'wasm',
    purpose: 'oneDNN backward-weights convolution, every stride',
    build: (previous) =>
      withSetup('Conv2DBackpropFilter', previous, (args) => {
        const { inputs, attrs } = args as unknown as {
          inputs: { x: TensorInfo; dy: TensorInfo };
          attrs: ConvAttrs & { filterShape: number[] };
        };
        const backend = args.backend as WasmHeapBackend;
        if (attrs.dataFormat === 'NCHW' || isEmpty(inputs.x.shape, inputs.dy.shape, attrs.filterShape))
          return fallback(previous, args);
        const call = convCall(inputs.x.shape, attrs.filterShape, attrs);
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

export { convCall, fallback, withSetup };
