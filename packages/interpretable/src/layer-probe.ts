import * as tf from '@tensorflow/tfjs';
import type { ModuleInstance, Network } from '@transplant/composer';
import { TransplantError } from '@transplant/core';

/**
 * Where a feature-map cell sits in the image (docs/methods.md §1.2, for the layers TF.js builds):
 * the centre of the cell in row or column u (0-based) is at `scale·u + offset` pixels, in the
 * annotations' frame (pixel centres at +0.5).
 */
export interface CellGeometry {
  readonly scale: number;
  readonly offset: number;
  /** [H, W] of the layer's map. */
  readonly mapSize: readonly [number, number];
  /** [H, W] of the network's input. */
  readonly imageSize: readonly [number, number];
}

export interface LayerRef {
  readonly module: ModuleInstance;
  readonly layer: tf.layers.Layer;
  /** The modules of the link before `module` (their outputs feed it). */
  readonly before: readonly ModuleInstance[];
  /** Module-local layer name (without the build prefix). */
  readonly name: string;
}

const invalid = (message: string) =>
  new TransplantError('E_INVALID_ARGUMENT', message, { operation: 'interpret' });

const ownLayers = (m: ModuleInstance) => m.model.layers.filter((l) => l.getClassName() !== 'InputLayer');

/** The layers of a link with 4-D outputs (the ones a map can be read from), module-local names. */
export function convLayerNames(network: Network, link: { category: string; task: string }): string[] {
  return chainOf(network, link).flatMap((m) =>
    ownLayers(m)
      .filter((l) => (l.getOutputAt(0) as tf.SymbolicTensor).shape.length === 4)
      .map((l) => `${m.name}:${l.name.slice(m.prefix.length)}`),
  );
}

function chainOf(network: Network, link: { category: string; task: string }): ModuleInstance[] {
  const spec = network.findLink(link.category, link.task);
  return [
    network.module(spec.category),
    ...(spec.adapter ? [network.module(spec.adapter)] : []),
    network.module(spec.task),
  ];
}

/**
 * Finds a layer of a link by its module-local name (`block4_conv1`), optionally qualified by
 * its module (`cat-cls-features:block4_conv1`). The layer must output a 4-D feature map.
 */
export function findLayer(
  network: Network,
  link: { category: string; task: string },
  name: string,
): LayerRef {
  const chain = chainOf(network, link);
  const [moduleName, local] = name.includes(':')
    ? (name.split(':', 2) as [string, string])
    : [undefined, name];
  for (let i = 0; i < chain.length; i++) {
    const m = chain[i]!;
    if (moduleName !== undefined && m.name !== moduleName) continue;
    const layer = ownLayers(m).find((l) => l.name === m.prefix + local || l.name === local);
    if (!layer) continue;
    if ((layer.getOutputAt(0) as tf.SymbolicTensor).shape.length !== 4)
      throw invalid(
        `layer ${local} of ${m.name} does not output a feature map; choose one of ${layerHint(convLayerNames(network, link), local)}`,
      );
    return { module: m, layer, before: chain.slice(0, i), name: layer.name.slice(m.prefix.length) };
  }
  throw invalid(
    `no layer "${name}" in the link ${link.category} → ${link.task}; layers with feature maps: ${layerHint(convLayerNames(network, link), local)}`,
  );
}

/** At most this many layer names in an error (an imported graph has hundreds). */
const HINT_NAMES = 12;

/**
 * Layer names for an error message: those containing `query` (case-insensitive) when any do,
 * else all, at most `HINT_NAMES` of them, with how many were left out.
 */
export function layerHint(names: readonly string[], query: string): string {
  const near = names.filter((n) => n.toLowerCase().includes(query.toLowerCase()));
  const pool = near.length > 0 ? near : names;
  const shown = pool.slice(0, HINT_NAMES);
  const more = pool.length - shown.length;
  return `${near.length > 0 && near.length < names.length ? `(of ${names.length}, those matching "${query}") ` : ''}${shown.join(', ')}${more > 0 ? `, … and ${more} more` : ''}`;
}

/** The layer's feature maps for a batch of images, [B, h, w, C] (inference mode). The caller owns them. */
export function layerActivations(ref: LayerRef, images: tf.Tensor4D): tf.Tensor4D {
  const sub = tf.model({
    inputs: ref.module.model.inputs,
    outputs: ref.layer.getOutputAt(0) as tf.SymbolicTensor,
  });
  return tf.tidy(() => {
    let input: tf.Tensor = images;
    for (const m of ref.before) input = m.model.predict(input) as tf.Tensor;
    return sub.predict(input) as tf.Tensor4D;
  });
}

interface SpatialStep {
  readonly kernel: number;
  readonly stride: number;
  readonly dilation: number;
  readonly padBefore: number;
}

/** A Keras size along rows and columns: `3` or `[3, 3]`. */
const axes = (v: unknown): [number, number] =>
  Array.isArray(v) ? [Number(v[0]), Number(v[1] ?? v[0])] : [Number(v), Number(v)];

/**
 * The one value both axes share; cell geometry is one scale and offset for rows and columns, so a
 * layer whose rows and columns step differently (a 1×7 kernel with 'valid' padding, unequal
 * strides or padding) is refused rather than placed wrongly.
 */
function shared(layer: tf.layers.Layer, what: string, [row, column]: readonly [number, number]): number {
  if (row !== column)
    throw invalid(
      `layer ${layer.name} has ${what} ${row} along rows and ${column} along columns; cells can be placed in the image only when both axes agree`,
    );
  return row;
}

/** 'same' padding before the first cell, from the kernel span, the stride and the sizes of one axis. */
const samePad = (size: number, out: number, stride: number, span: number): number =>
  Math.floor(Math.max((out - 1) * stride + span - size, 0) / 2);

/**
 * The input a layer's cells come from: the only one, or among several (merges, a squeeze-excite
 * gate times its map) the first whose spatial size is the output's — inputs of that size share
 * one geometry in a well-formed net; a broadcast 1×1 gate has none.
 */
function firstInput(layer: tf.layers.Layer): tf.SymbolicTensor {
  const input = layer.getInputAt(0) as tf.SymbolicTensor | tf.SymbolicTensor[];
  if (!Array.isArray(input)) return input;
  const out = (layer.getOutputAt(0) as tf.SymbolicTensor).shape;
  return input.find((t) => t.shape[1] === out[1] && t.shape[2] === out[2]) ?? input[0]!;
}

function spatialStep(layer: tf.layers.Layer): SpatialStep | null {
  const inShape = firstInput(layer).shape;
  const outShape = (layer.getOutputAt(0) as tf.SymbolicTensor).shape;
  if (inShape.length !== 4 || outShape.length !== 4)
    throw invalid(
      `layer ${layer.name} (${layer.getClassName()}) does not map feature maps to feature maps; cells cannot be traced to image positions through it`,
    );
  const config = layer.getConfig();
  const cls = layer.getClassName();
  if (cls === 'TransplantTfOp') return tfOpStep(layer, config, inShape[1]!, outShape[1]!);
  let kernel: [number, number];
  let stride: [number, number];
  let dilation: [number, number] = [1, 1];
  if (cls === 'Conv2D' || cls === 'DepthwiseConv2D' || cls === 'SeparableConv2D') {
    kernel = axes(config['kernelSize']);
    stride = axes(config['strides'] ?? 1);
    dilation = axes(config['dilationRate'] ?? 1);
  } else if (cls === 'MaxPooling2D' || cls === 'AveragePooling2D') {
    kernel = axes(config['poolSize']);
    stride = axes(config['strides'] ?? config['poolSize']);
  } else if (cls === 'ZeroPadding2D') {
    // Padding shifts cells by the rows / columns added before them.
    const padding = config['padding'] as number | [number, number] | [[number, number], [number, number]];
    const [top, left]: [number, number] =
      typeof padding === 'number'
        ? [padding, padding]
        : Array.isArray(padding[0])
          ? [padding[0][0], (padding[1] as [number, number])[0]]
          : [padding[0], padding[1] as number];
    return { kernel: 1, stride: 1, dilation: 1, padBefore: shared(layer, 'padding before', [top, left]) };
  } else if (inShape[1] === outShape[1] && inShape[2] === outShape[2]) {
    return null;
  } else {
    throw invalid(
      `layer ${layer.name} (${cls}) changes the map size in a way this tool cannot trace to image positions`,
    );
  }
  const span = (axis: 0 | 1) => (kernel[axis] - 1) * dilation[axis] + 1;
  const pad = (axis: 0 | 1) =>
    config['padding'] === 'same'
      ? samePad(inShape[axis + 1]!, outShape[axis + 1]!, stride[axis], span(axis))
      : 0;
  return {
    kernel: shared(layer, 'kernel size', kernel),
    stride: shared(layer, 'stride', stride),
    dilation: shared(layer, 'dilation', dilation),
    padBefore: shared(layer, 'padding before', [pad(0), pad(1)]),
  };
}

interface TfOpConfigView {
  node: { name: string; op: string; inputs: string[]; attr: Record<string, unknown> };
  statics: Record<string, { values: number[] }>;
  weights: { name: string; shape: number[] }[];
}

/**
 * The step of one op of an imported TF graph (a `TransplantTfOp` layer, read from its config):
 * convolutions and pools by their kernel, strides, dilations and padding; Pad by the rows it adds.
 */
function tfOpStep(
  layer: tf.layers.Layer,
  config: tf.serialization.ConfigDict,
  size: number,
  out: number,
): SpatialStep | null {
  const { node, statics, weights } = config['op'] as unknown as TfOpConfigView;
  const inShape = firstInput(layer).shape;
  const outShape = (layer.getOutputAt(0) as tf.SymbolicTensor).shape;
  const nhwc = (key: string): [number, number] => {
    const v = (node.attr[key] as number[] | undefined) ?? [1, 1, 1, 1];
    return [v[1]!, v[2]!];
  };
  const step = (kernel: [number, number], stride: [number, number], dilation: [number, number]) => {
    const padding = node.attr['padding'];
    const explicit = (node.attr['explicit_paddings'] as number[] | undefined) ?? [];
    const pad = (axis: 0 | 1): number =>
      padding === 'EXPLICIT'
        ? (explicit[2 + 2 * axis] ?? 0)
        : padding === 'SAME'
          ? samePad(
              axis === 0 ? size : inShape[2]!,
              axis === 0 ? out : outShape[2]!,
              stride[axis],
              (kernel[axis] - 1) * dilation[axis] + 1,
            )
          : 0;
    return {
      kernel: shared(layer, 'kernel size', kernel),
      stride: shared(layer, 'stride', stride),
      dilation: shared(layer, 'dilation', dilation),
      padBefore: shared(layer, 'padding before', [pad(0), pad(1)]),
    };
  };
  if (['Conv2D', '_FusedConv2D', 'DepthwiseConv2dNative', 'FusedDepthwiseConv2dNative'].includes(node.op)) {
    const shape = weights.find((w) => w.name === node.inputs[1])?.shape ?? [1, 1];
    return step([shape[0]!, shape[1]!], nhwc('strides'), nhwc('dilations'));
  }
  if (node.op === 'MaxPool' || node.op === 'AvgPool') return step(nhwc('ksize'), nhwc('strides'), [1, 1]);
  if (['Pad', 'PadV2', 'MirrorPad'].includes(node.op)) {
    const values = statics[node.inputs[1]!]?.values ?? [];
    return {
      kernel: 1,
      stride: 1,
      dilation: 1,
      padBefore: shared(layer, 'padding before', [values[2] ?? 0, values[4] ?? 0]),
    };
  }
  if (size === out) return null;
  throw invalid(
    `layer ${layer.name} (${node.op}) changes the map size in a way this tool cannot trace to image positions`,
  );
}

/**
 * The layers from the image to `layer` along its first inputs (through merges and the modules
 * before it), image side first: the path whose conv / pool / padding steps place its cells.
 */
function pathTo(ref: LayerRef): tf.layers.Layer[] {
  const path: tf.layers.Layer[] = [];
  const modules = [...ref.before, ref.module];
  let layer: tf.layers.Layer | undefined = ref.layer;
  for (let m = modules.length - 1; m >= 0; m--) {
    if (m < modules.length - 1) {
      const model = modules[m]!.model;
      layer = model.outputs[0]!.sourceLayer as tf.layers.Layer;
    }
    while (layer && layer.getClassName() !== 'InputLayer') {
      path.push(layer);
      layer = firstInput(layer).sourceLayer as tf.layers.Layer;
    }
  }
  return path.reverse();
}

/** The image position of the layer's cells (each conv/pool/padding layer on the way composes c_in = s·c_out − pad + (k−1)·d/2). */
export function cellGeometry(ref: LayerRef): CellGeometry {
  const path = pathTo(ref);
  let scale = 1;
  let offset = 0;
  for (let i = path.length - 1; i >= 0; i--) {
    const step = spatialStep(path[i]!);
    if (!step) continue;
    offset = step.stride * offset - step.padBefore + ((step.kernel - 1) * step.dilation) / 2;
    scale *= step.stride;
  }
  const mapShape = (ref.layer.getOutputAt(0) as tf.SymbolicTensor).shape;
  const first = ref.before[0] ?? ref.module;
  const imageShape = first.ports.input.shape;
  return {
    scale,
    offset: offset + 0.5,
    mapSize: [mapShape[1]!, mapShape[2]!],
    imageSize: [imageShape[1]!, imageShape[2]!],
  };
}
