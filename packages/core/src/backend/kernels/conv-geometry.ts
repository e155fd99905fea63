import { backend_util } from '@tensorflow/tfjs';

type Pad = 'same' | 'valid' | number | backend_util.ExplicitPadding;

export interface ConvAttrs {
  readonly strides: [number, number] | number;
  readonly pad: Pad;
  readonly dataFormat: 'NHWC' | 'NCHW';
  readonly dimRoundingMode?: 'floor' | 'round' | 'ceil';
  /** Forward convolutions only; gradient kernels have none (dilation 1). */
  readonly dilations?: [number, number] | number;
}

/** The forward convolution's geometry, as the stock kernels compute it (depthwise: filter [kh, kw, C, m]). */
export function forwardGeometry(
  inShape: readonly number[],
  filterShape: readonly number[],
  attrs: ConvAttrs,
  depthwise = false,
): backend_util.Conv2DInfo {
  return backend_util.computeConv2DInfo(
    inShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    attrs.dilations ?? 1,
    attrs.pad,
    attrs.dimRoundingMode,
    depthwise,
    backend_util.convertConv2DDataFormat(attrs.dataFormat),
  );
}

/** An explicit NHWC padding, the form every back end's Conv2D accepts without re-deriving it. */
export function explicitPad(
  top: number,
  bottom: number,
  left: number,
  right: number,
): backend_util.ExplicitPadding {
  return [
    [0, 0],
    [top, bottom],
    [left, right],
    [0, 0],
  ];
}
