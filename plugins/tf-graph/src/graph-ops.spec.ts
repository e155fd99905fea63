import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { normaliseTfAttr } from '@transplant/core';
import type { GraphNode, StaticValue } from './graph-nodes';
import { OPS } from './graph-ops';
import { TfOpLayer } from './tf-op-layer';

/**
 * Every op of the table against stock TensorFlow.js running the same one-node GraphModel, with
 * attributes other than the defaults, at batch 2: a wrong stride, padding, flag order or axis
 * shows up as a difference.
 */

type Input = { x: number[] } | { w: number[] } | { s: number[]; shape?: number[] } | { f: number };

interface Case {
  label: string;
  op: string;
  inputs: Input[];
  attr?: Record<string, unknown>;
  batch?: number;
}

const b64 = (s: string) => ({ s: Buffer.from(s).toString('base64') });
const ints = (...i: number[]) => ({ list: { i: i.map(String) } });
const conv = (o: {
  strides?: number[];
  padding?: string;
  fused?: string[];
  dilations?: number[];
  extra?: Record<string, unknown>;
}) => ({
  strides: ints(...(o.strides ?? [1, 1, 1, 1])),
  dilations: ints(...(o.dilations ?? [1, 1, 1, 1])),
  padding: b64(o.padding ?? 'SAME'),
  data_format: b64('NHWC'),
  ...(o.fused
    ? {
        fused_ops: { list: { s: o.fused.map((f) => Buffer.from(f).toString('base64')) } },
        num_args: { i: '1' },
      }
    : {}),
  ...(o.extra ?? {}),
});
const img = { x: [6, 6, 3] };

const CASES: Case[] = [
  {
    label: 'Conv2D stride 2 VALID',
    op: 'Conv2D',
    inputs: [img, { w: [3, 3, 3, 4] }],
    attr: conv({ strides: [1, 2, 2, 1], padding: 'VALID' }),
  },
  {
    label: 'Conv2D dilated',
    op: 'Conv2D',
    inputs: [img, { w: [3, 3, 3, 2] }],
    attr: conv({ dilations: [1, 2, 2, 1] }),
  },
  {
    label: 'Conv2D EXPLICIT padding',
    op: 'Conv2D',
    inputs: [img, { w: [3, 3, 3, 2] }],
    attr: conv({ padding: 'EXPLICIT', extra: { explicit_paddings: ints(0, 0, 1, 2, 2, 1, 0, 0) } }),
  },
  {
    label: 'DepthwiseConv2dNative stride 2 ×2',
    op: 'DepthwiseConv2dNative',
    inputs: [img, { w: [3, 3, 3, 2] }],
    attr: conv({ strides: [1, 2, 2, 1] }),
  },
  {
    label: '_FusedConv2D BiasAdd+LeakyRelu',
    op: '_FusedConv2D',
    inputs: [img, { w: [3, 3, 3, 4] }, { w: [4] }],
    attr: conv({ fused: ['BiasAdd', 'LeakyRelu'], extra: { leakyrelu_alpha: { f: 0.1 } } }),
  },
  {
    label: '_FusedConv2D BiasAdd+Elu',
    op: '_FusedConv2D',
    inputs: [img, { w: [1, 1, 3, 4] }, { w: [4] }],
    attr: conv({ fused: ['BiasAdd', 'Elu'] }),
  },
  {
    label: '_FusedConv2D BiasAdd+Relu6 stride 2',
    op: '_FusedConv2D',
    inputs: [img, { w: [3, 3, 3, 4] }, { w: [4] }],
    attr: conv({ strides: [1, 2, 2, 1], fused: ['BiasAdd', 'Relu6'] }),
  },
  {
    label: 'FusedDepthwiseConv2dNative BiasAdd+Relu6',
    op: 'FusedDepthwiseConv2dNative',
    inputs: [img, { w: [3, 3, 3, 1] }, { w: [3] }],
    attr: conv({ fused: ['BiasAdd', 'Relu6'] }),
  },
  {
    label: 'Conv2DBackpropInput stride 2',
    op: 'Conv2DBackpropInput',
    inputs: [{ s: [2, 12, 12, 5] }, { w: [3, 3, 5, 3] }, img],
    attr: conv({ strides: [1, 2, 2, 1] }),
  },
  {
    label: 'MatMul transpose_b',
    op: 'MatMul',
    inputs: [{ x: [6] }, { w: [5, 6] }],
    attr: { transpose_a: { b: false }, transpose_b: { b: true } },
  },
  {
    label: '_FusedMatMul BiasAdd+Relu',
    op: '_FusedMatMul',
    inputs: [{ x: [6] }, { w: [6, 5] }, { w: [5] }],
    attr: {
      transpose_a: { b: false },
      transpose_b: { b: false },
      fused_ops: { list: { s: ['Qmlhc0FkZA==', 'UmVsdQ=='] } },
      num_args: { i: '1' },
    },
  },
  {
    label: 'MaxPool 3/2 SAME',
    op: 'MaxPool',
    inputs: [img],
    attr: {
      ksize: ints(1, 3, 3, 1),
      strides: ints(1, 2, 2, 1),
      padding: b64('SAME'),
      data_format: b64('NHWC'),
    },
  },
  {
    label: 'AvgPool 2/2 VALID',
    op: 'AvgPool',
    inputs: [img],
    attr: {
      ksize: ints(1, 2, 2, 1),
      strides: ints(1, 2, 2, 1),
      padding: b64('VALID'),
      data_format: b64('NHWC'),
    },
  },
  { label: 'Mean axes 1,2', op: 'Mean', inputs: [img, { s: [1, 2] }], attr: { keep_dims: { b: false } } },
  { label: 'Sum keep_dims', op: 'Sum', inputs: [img, { s: [3] }], attr: { keep_dims: { b: true } } },
  {
    label: 'Max axis -1',
    op: 'Max',
    inputs: [img, { s: [-1], shape: [] }],
    attr: { keep_dims: { b: false } },
  },
  {
    label: 'ConcatV2 axis -1',
    op: 'ConcatV2',
    inputs: [img, { w: [2, 6, 6, 2] }, { s: [-1], shape: [] }],
    attr: { N: { i: '2' } },
  },
  { label: 'Pad', op: 'Pad', inputs: [img, { s: [0, 0, 1, 2, 2, 1, 0, 0], shape: [4, 2] }] },
  {
    label: 'PadV2 with 0.5',
    op: 'PadV2',
    inputs: [img, { s: [0, 0, 1, 0, 0, 2, 0, 0], shape: [4, 2] }, { f: 0.5 }],
  },
  {
    label: 'MirrorPad REFLECT',
    op: 'MirrorPad',
    inputs: [img, { s: [0, 0, 2, 1, 1, 2, 0, 0], shape: [4, 2] }],
    attr: { mode: b64('REFLECT') },
  },
  {
    label: 'MirrorPad SYMMETRIC',
    op: 'MirrorPad',
    inputs: [img, { s: [0, 0, 2, 1, 1, 2, 0, 0], shape: [4, 2] }],
    attr: { mode: b64('SYMMETRIC') },
  },
  { label: 'Reshape', op: 'Reshape', inputs: [img, { s: [-1, 36, 3] }] },
  { label: 'Squeeze dims', op: 'Squeeze', inputs: [{ x: [4, 1, 3] }], attr: { squeeze_dims: ints(2) } },
  { label: 'ExpandDims', op: 'ExpandDims', inputs: [img, { s: [1], shape: [] }] },
  { label: 'Transpose', op: 'Transpose', inputs: [img, { s: [0, 3, 1, 2] }] },
  {
    label: 'ResizeBilinear align_corners',
    op: 'ResizeBilinear',
    inputs: [img, { s: [9, 11] }],
    attr: { align_corners: { b: true }, half_pixel_centers: { b: false } },
  },
  {
    label: 'ResizeBilinear half_pixel_centers',
    op: 'ResizeBilinear',
    inputs: [img, { s: [9, 11] }],
    attr: { align_corners: { b: false }, half_pixel_centers: { b: true } },
  },
  {
    label: 'ResizeNearestNeighbor half_pixel_centers',
    op: 'ResizeNearestNeighbor',
    inputs: [img, { s: [13, 7] }],
    attr: { align_corners: { b: false }, half_pixel_centers: { b: true } },
  },
  {
    label: 'FusedBatchNormV3',
    op: 'FusedBatchNormV3',
    inputs: [img, { w: [3] }, { w: [3] }, { w: [3] }, { w: [3] }],
    attr: { epsilon: { f: 0.01 }, data_format: b64('NHWC') },
  },
  {
    label: 'FusedBatchNorm',
    op: 'FusedBatchNorm',
    inputs: [img, { w: [3] }, { w: [3] }, { w: [3] }, { w: [3] }],
    attr: { epsilon: { f: 0.01 }, data_format: b64('NHWC') },
  },
  { label: 'LeakyRelu 0.3', op: 'LeakyRelu', inputs: [img], attr: { alpha: { f: 0.3 } } },
  ...[
    'Relu',
    'Relu6',
    'Elu',
    'Selu',
    'Sigmoid',
    'Tanh',
    'Softplus',
    'Softmax',
    'Square',
    'Sqrt',
    'Rsqrt',
    'Exp',
    'Neg',
    'Abs',
    'Identity',
  ].map((op) => ({ label: op, op, inputs: [img] }) as Case),
  ...['Add', 'AddV2', 'Sub', 'Mul', 'RealDiv', 'Div', 'Maximum', 'Minimum', 'SquaredDifference'].map(
    (op) => ({ label: `${op} with a constant`, op, inputs: [img, { w: [3] }] }) as Case,
  ),
  { label: 'BiasAdd', op: 'BiasAdd', inputs: [img, { w: [3] }], attr: { data_format: b64('NHWC') } },
  {
    label: 'AddN',
    op: 'AddN',
    inputs: [img, { w: [2, 6, 6, 3] }, { w: [2, 6, 6, 3] }],
    attr: { N: { i: '3' } },
  },
];

/** Seeded values in [0.5, 1.5) (positive: Sqrt, Rsqrt, divisors). */
function values(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return 0.5 + s / 2 ** 32;
  });
}

function build(c: Case, batch: number) {
  const nodes: Record<string, unknown>[] = [];
  const specs: tf.io.WeightsManifestEntry[] = [];
  const buffers: Uint8Array[] = [];
  const statics: Record<string, StaticValue> = {};
  const weights: { name: string; shape: number[]; data: Float32Array }[] = [];
  const names = c.inputs.map((input, i) => {
    const name = `in${i}`;
    if ('x' in input) {
      nodes.push({
        name,
        op: 'Placeholder',
        attr: {
          dtype: { type: 'DT_FLOAT' },
          shape: { shape: { dim: [-1, ...input.x].map((d) => ({ size: String(d) })) } },
        },
      });
      return { name, x: input.x };
    }
    if ('s' in input) {
      const shape = input.shape ?? [input.s.length];
      nodes.push({ name, op: 'Const', attr: { dtype: { type: 'DT_INT32' } } });
      specs.push({ name, shape, dtype: 'int32' });
      buffers.push(new Uint8Array(new Int32Array(input.s).buffer));
      statics[name] = { shape, values: input.s };
      return { name };
    }
    const shape = 'w' in input ? input.w : [];
    const data =
      'w' in input
        ? values(
            shape.reduce((a, b) => a * b, 1),
            7 + i,
          )
        : Float32Array.of(input.f);
    nodes.push({ name, op: 'Const', attr: { dtype: { type: 'DT_FLOAT' } } });
    specs.push({ name, shape, dtype: 'float32' });
    buffers.push(new Uint8Array(data.buffer));
    weights.push({ name, shape, data });
    return { name };
  });
  nodes.push({ name: 'y', op: c.op, input: names.map((n) => n.name), attr: c.attr ?? {} });
  const data = new Uint8Array(buffers.reduce((n, b) => n + b.byteLength, 0));
  buffers.reduce((o, b) => (data.set(b, o), o + b.byteLength), 0);
  const placeholder = names.find((n) => n.x)!;
  const node: GraphNode = {
    name: 'y',
    op: c.op,
    inputs: names.map((n) => n.name),
    attr: Object.fromEntries(
      Object.entries(c.attr ?? {})
        .map(([k, v]) => [k, normaliseTfAttr(v)] as const)
        .filter((e): e is [string, NonNullable<ReturnType<typeof normaliseTfAttr>>] => e[1] !== undefined),
    ),
  };
  return {
    artifacts: {
      modelTopology: { node: nodes, library: {}, versions: {} },
      weightSpecs: specs,
      weightData: data.buffer,
    },
    spec: {
      input: placeholder.name,
      output: 'y',
      nodes: [node],
      statics,
      weights: weights.map(({ name, shape }) => ({ name, shape })),
      inputScale: 1,
      inputOffset: 0,
      outputChannels: [],
      outputSize: [],
    },
    weights,
    x: tf.tensor(values(batch * placeholder.x!.reduce((a, b) => a * b, 1), 3), [batch, ...placeholder.x!]),
  };
}

describe('the TF op table against stock TensorFlow.js', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('covers every op of the table', () => {
    expect(Object.keys(OPS).filter((op) => !CASES.some((c) => c.op === op))).toEqual([]);
  });

  it.each(CASES)('$label', async (c) => {
    const { artifacts, spec, weights, x } = build(c, c.batch ?? 2);
    const stock = await tf.loadGraphModel(tf.io.fromMemory(artifacts as tf.io.ModelArtifacts));
    const layer = new TfOpLayer({
      op: { node: spec.nodes[0]!, statics: spec.statics, weights: spec.weights },
    });
    const data = TfOpLayer.dataInputs(layer.op).map(() => x);
    layer.apply(data.length === 1 ? data[0]! : data); // builds the weights
    const values = weights.map((w) => tf.tensor(w.data, w.shape));
    layer.setWeights(values);
    tf.dispose(values);
    const start = tf.memory().numTensors;
    const expected = stock.execute({ [spec.input]: x }, 'y') as tf.Tensor;
    const actual = layer.apply(data.length === 1 ? data[0]! : data) as tf.Tensor;
    expect(actual.shape).toEqual(expected.shape);
    // The shape the layer reports to a symbolic (any-batch) input is the real one.
    const free = tf.input({ shape: x.shape.slice(1) });
    const symbolic = layer.apply(data.length === 1 ? free : data.map(() => free)) as tf.SymbolicTensor;
    expect(symbolic.shape).toEqual([null, ...expected.shape.slice(1)]);
    const difference = tf.tidy(() => tf.max(tf.abs(tf.sub(actual, expected))).dataSync()[0]!);
    expect(difference).toBeLessThanOrEqual(1e-5);
    tf.dispose([expected, actual]);
    expect(tf.memory().numTensors).toBe(start);
    tf.dispose(x);
    layer.dispose();
    stock.dispose();
  });
});
