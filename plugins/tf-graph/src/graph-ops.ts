import * as tf from '@tensorflow/tfjs';
import type { AttrValue, GraphNode, StaticValue } from './graph-nodes';

/**
 * The TensorFlow ops an imported graph may hold, each run with TensorFlow.js ops that have
 * gradients (so a task module built from a graph can pass gradients to the adapter below it).
 * Fused convolutions are run unfused (conv, bias, activation), which tfjs can differentiate for
 * every activation.
 */

/** A value an op reads: a tensor (data, weights) or a static integer constant. */
export type OpInput = tf.Tensor | StaticValue;

const isStatic = (v: OpInput): v is StaticValue => !(v instanceof tf.Tensor);

interface OpDef {
  /** The fewest inputs the op reads (1 when not given). */
  readonly arity?: number;
  /** Input positions that must be static integer constants (axes, shapes, sizes, paddings). */
  readonly statics?: readonly number[] | 'last';
  run(inputs: OpInput[], attr: Readonly<Record<string, AttrValue>>, node: GraphNode): tf.Tensor;
}

const tensor = (v: OpInput): tf.Tensor => (isStatic(v) ? tf.tensor(v.values, v.shape, 'int32') : v);
const ints = (v: OpInput): number[] => (isStatic(v) ? v.values : []);

function nhwc(attr: Readonly<Record<string, AttrValue>>, node: GraphNode): void {
  const format = attr['data_format'];
  if (format !== undefined && format !== 'NHWC')
    throw new Error(`node ${node.name}: data_format ${String(format)} is not supported (NHWC only)`);
}

/** A boolean attribute (absent: false); any other value is refused, not read as truthy. */
function flag(attr: Readonly<Record<string, AttrValue>>, key: string, node: GraphNode): boolean {
  const v = attr[key];
  if (v === undefined || typeof v === 'boolean') return v === true;
  throw new Error(`node ${node.name}: ${key} must be a boolean, not ${JSON.stringify(v)}`);
}

/** TF's padding attribute as tfjs takes it: 'same', 'valid' or explicit [[t, b], [l, r]] per axis. */
function padding(
  attr: Readonly<Record<string, AttrValue>>,
): 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]] {
  const p = attr['padding'];
  if (p === 'EXPLICIT') {
    const e = (attr['explicit_paddings'] as number[] | undefined) ?? [];
    return [
      [e[0] ?? 0, e[1] ?? 0],
      [e[2] ?? 0, e[3] ?? 0],
      [e[4] ?? 0, e[5] ?? 0],
      [e[6] ?? 0, e[7] ?? 0],
    ];
  }
  return p === 'VALID' ? 'valid' : 'same';
}

/** The spatial pair of a 4-long NHWC list attribute (strides, dilations, ksize). */
function pair(attr: Readonly<Record<string, AttrValue>>, key: string): [number, number] {
  const v = attr[key] as number[] | undefined;
  return v && v.length === 4 ? [v[1]!, v[2]!] : [1, 1];
}

function activation(name: string, x: tf.Tensor, attr: Readonly<Record<string, AttrValue>>): tf.Tensor {
  switch (name) {
    case 'Relu':
      return tf.relu(x);
    case 'Relu6':
      return tf.relu6(x);
    case 'Elu':
      return tf.elu(x);
    case 'Sigmoid':
      return tf.sigmoid(x);
    case 'Tanh':
      return tf.tanh(x);
    case 'LeakyRelu':
      return tf.leakyRelu(x, Number(attr['leakyrelu_alpha'] ?? attr['alpha'] ?? 0.2));
    default:
      throw new Error(`fused activation ${name} is not supported`);
  }
}

/** BiasAdd or FusedBatchNorm (scale, offset, mean, variance), then an optional activation. */
function fusedTail(
  y: tf.Tensor,
  args: OpInput[],
  attr: Readonly<Record<string, AttrValue>>,
  node: GraphNode,
): tf.Tensor {
  const ops = (attr['fused_ops'] as string[] | undefined) ?? [];
  let out = y;
  let rest = ops;
  if (ops[0] === 'BiasAdd') {
    out = tf.add(out, tensor(args[0]!));
    rest = ops.slice(1);
  } else if (ops[0] === 'FusedBatchNorm') {
    const [scale, offset, mean, variance] = args.map(tensor);
    out = tf.batchNorm(out, mean!, variance!, offset, scale, Number(attr['epsilon'] ?? 1e-3));
    rest = ops.slice(1);
  }
  if (rest.length > 1) throw new Error(`node ${node.name}: fused ops ${ops.join(' + ')} are not supported`);
  return rest.length === 1 ? activation(rest[0]!, out, attr) : out;
}

const unary = (f: (x: tf.Tensor) => tf.Tensor): OpDef => ({ run: ([x]) => f(tensor(x!)) });
const binary = (f: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor): OpDef => ({
  arity: 2,
  run: ([a, b]) => f(tensor(a!), tensor(b!)),
});

function reduce(f: (x: tf.Tensor, axes: number[], keep: boolean) => tf.Tensor): OpDef {
  return {
    arity: 2,
    statics: [1],
    run: ([x, axes], attr) => f(tensor(x!), ints(axes!), Boolean(attr['keep_dims'])),
  };
}

function resize(nearest: boolean): OpDef {
  return {
    arity: 2,
    statics: [1],
    run: ([x, size], attr) => {
      const [h, w] = ints(size!) as [number, number];
      const align = Boolean(attr['align_corners']);
      const half = Boolean(attr['half_pixel_centers']);
      const x4 = tensor(x!) as tf.Tensor4D;
      return nearest
        ? tf.image.resizeNearestNeighbor(x4, [h, w], align, half)
        : tf.image.resizeBilinear(x4, [h, w], align, half);
    },
  };
}

/** A (depthwise) convolution op, NHWC, with TF's strides, padding and dilations; fused: then bias/BN and activation. */
function convolution(conv: typeof tf.conv2d | typeof tf.depthwiseConv2d, fused: boolean): OpDef {
  return {
    arity: fused ? 3 : 2,
    run: ([x, f, ...args], attr, node) => {
      nhwc(attr, node);
      const y = (conv as typeof tf.conv2d)(
        tensor(x!) as tf.Tensor4D,
        tensor(f!) as tf.Tensor4D,
        pair(attr, 'strides'),
        padding(attr) as 'same',
        'NHWC',
        pair(attr, 'dilations'),
      );
      return fused ? fusedTail(y, args, attr, node) : y;
    },
  };
}

/** The supported ops; anything else is refused at import, naming the node and the op. */
export const OPS: Readonly<Record<string, OpDef>> = {
  Identity: { run: ([x]) => tf.clone(tensor(x!)) },
  Conv2D: convolution(tf.conv2d, false),
  _FusedConv2D: convolution(tf.conv2d, true),
  DepthwiseConv2dNative: convolution(tf.depthwiseConv2d, false),
  FusedDepthwiseConv2dNative: convolution(tf.depthwiseConv2d, true),
  Conv2DBackpropInput: {
    arity: 3,
    statics: [0],
    run: ([shape, f, x], attr, node) => {
      nhwc(attr, node);
      const s = ints(shape!);
      const input = tensor(x!) as tf.Tensor4D;
      const out: [number, number, number, number] = [input.shape[0], s[1]!, s[2]!, s[3]!];
      return tf.conv2dTranspose(
        input,
        tensor(f!) as tf.Tensor4D,
        out,
        pair(attr, 'strides'),
        padding(attr) as 'same',
      );
    },
  },
  MatMul: {
    arity: 2,
    run: ([a, b], attr, node) =>
      tf.matMul(tensor(a!), tensor(b!), flag(attr, 'transpose_a', node), flag(attr, 'transpose_b', node)),
  },
  _FusedMatMul: {
    arity: 3,
    run: ([a, b, ...args], attr, node) =>
      fusedTail(
        tf.matMul(tensor(a!), tensor(b!), flag(attr, 'transpose_a', node), flag(attr, 'transpose_b', node)),
        args,
        attr,
        node,
      ),
  },
  BiasAdd: binary(tf.add),
  Add: binary(tf.add),
  AddV2: binary(tf.add),
  AddN: { run: (xs) => tf.addN(xs.map(tensor)) },
  Sub: binary(tf.sub),
  Mul: binary(tf.mul),
  RealDiv: binary(tf.div),
  Div: binary(tf.div),
  Maximum: binary(tf.maximum),
  Minimum: binary(tf.minimum),
  SquaredDifference: binary(tf.squaredDifference),
  Relu: unary(tf.relu),
  Relu6: unary(tf.relu6),
  Elu: unary(tf.elu),
  Selu: unary(tf.selu),
  LeakyRelu: { run: ([x], attr) => tf.leakyRelu(tensor(x!), Number(attr['alpha'] ?? 0.2)) },
  Sigmoid: unary(tf.sigmoid),
  Tanh: unary(tf.tanh),
  Softplus: unary(tf.softplus),
  Softmax: unary((x) => tf.softmax(x)),
  Square: unary(tf.square),
  Sqrt: unary(tf.sqrt),
  Rsqrt: unary(tf.rsqrt),
  Exp: unary(tf.exp),
  Neg: unary(tf.neg),
  Abs: unary(tf.abs),
  MaxPool: {
    run: ([x], attr, node) => {
      nhwc(attr, node);
      return tf.maxPool(
        tensor(x!) as tf.Tensor4D,
        pair(attr, 'ksize'),
        pair(attr, 'strides'),
        padding(attr) as 'same',
      );
    },
  },
  AvgPool: {
    run: ([x], attr, node) => {
      nhwc(attr, node);
      return tf.avgPool(
        tensor(x!) as tf.Tensor4D,
        pair(attr, 'ksize'),
        pair(attr, 'strides'),
        padding(attr) as 'same',
      );
    },
  },
  Mean: reduce((x, axes, keep) => tf.mean(x, axes, keep)),
  Sum: reduce((x, axes, keep) => tf.sum(x, axes, keep)),
  Max: reduce((x, axes, keep) => tf.max(x, axes, keep)),
  ConcatV2: {
    arity: 2,
    statics: 'last',
    run: (xs) => {
      const axis = ints(xs.at(-1)!)[0]!;
      return tf.concat(xs.slice(0, -1).map(tensor), axis);
    },
  },
  Pad: {
    arity: 2,
    statics: [1],
    run: ([x, p]) => {
      const v = ints(p!);
      return tf.pad(
        tensor(x!),
        Array.from({ length: v.length / 2 }, (_, i) => [v[2 * i]!, v[2 * i + 1]!]),
      );
    },
  },
  PadV2: {
    arity: 3,
    statics: [1],
    run: ([x, p, c]) => {
      const v = ints(p!);
      const value = isStatic(c!) ? c.values[0]! : (c as tf.Tensor).dataSync()[0]!;
      return tf.pad(
        tensor(x!),
        Array.from({ length: v.length / 2 }, (_, i) => [v[2 * i]!, v[2 * i + 1]!]),
        value,
      );
    },
  },
  MirrorPad: {
    arity: 2,
    statics: [1],
    run: ([x, p], attr) => {
      const v = ints(p!);
      const mode = String(attr['mode']).toLowerCase() === 'symmetric' ? 'symmetric' : 'reflect';
      return tf.mirrorPad(
        tensor(x!),
        Array.from({ length: v.length / 2 }, (_, i) => [v[2 * i]!, v[2 * i + 1]!] as [number, number]),
        mode,
      );
    },
  },
  Reshape: {
    arity: 2,
    statics: [1],
    // A graph converted with a fixed batch of 1 reshapes to [1, …]: the batch stays free here.
    run: ([x, s]) => {
      const shape = ints(s!);
      const input = tensor(x!);
      return tf.reshape(
        input,
        shape[0] === 1 && input.shape[0] !== 1 ? [input.shape[0], ...shape.slice(1)] : shape,
      );
    },
  },
  Squeeze: {
    run: ([x], attr) =>
      tf.squeeze(
        tensor(x!),
        (attr['squeeze_dims'] as number[] | undefined)?.length
          ? (attr['squeeze_dims'] as number[])
          : undefined,
      ),
  },
  ExpandDims: { arity: 2, statics: [1], run: ([x, d]) => tf.expandDims(tensor(x!), ints(d!)[0]) },
  Transpose: { arity: 2, statics: [1], run: ([x, p]) => tf.transpose(tensor(x!), ints(p!)) },
  ResizeBilinear: resize(false),
  ResizeNearestNeighbor: resize(true),
  FusedBatchNorm: {
    arity: 5,
    run: ([x, scale, offset, mean, variance], attr) =>
      tf.batchNorm(
        tensor(x!),
        tensor(mean!),
        tensor(variance!),
        tensor(offset!),
        tensor(scale!),
        Number(attr['epsilon'] ?? 1e-3),
      ),
  },
  FusedBatchNormV3: {
    arity: 5,
    run: ([x, scale, offset, mean, variance], attr) =>
      tf.batchNorm(
        tensor(x!),
        tensor(mean!),
        tensor(variance!),
        tensor(offset!),
        tensor(scale!),
        Number(attr['epsilon'] ?? 1e-3),
      ),
  },
};

/** Why a node's inputs do not fit its op (too few; fused ops whose num_args disagree), or undefined. */
export function arityProblem(node: {
  name: string;
  op: string;
  inputs: readonly string[];
  attr: Readonly<Record<string, unknown>>;
}): string | undefined {
  const need = OPS[node.op]?.arity ?? 1;
  if (node.inputs.length < need)
    return `${node.op} node ${node.name} reads ${node.inputs.length} inputs, it needs ${need}`;
  const args = node.attr['num_args'];
  if (node.op.startsWith('_Fused') || node.op.startsWith('FusedDepthwise'))
    if (typeof args === 'number' && node.inputs.length !== 2 + args)
      return `${node.op} node ${node.name} reads ${node.inputs.length} inputs, its num_args says ${2 + args}`;
  return undefined;
}

/** Whether input `i` of a node with `count` inputs must be static. */
export function mustBeStatic(op: string, i: number, count: number): boolean {
  const s = OPS[op]?.statics;
  return s === 'last' ? i === count - 1 : (s?.includes(i) ?? false);
}
