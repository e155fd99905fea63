import { IsArray, IsIn, IsInt, IsNumber, IsObject, Matches, Min, ValidateBy } from 'class-validator';
import {
  VALUE_RANGES,
  type BuiltModule,
  type ModulePlugin,
  type Port,
  type PortRole,
  type TaskId,
  type ValueRange,
} from '@transplant/core';
import type * as tf from '@tensorflow/tfjs';
import {
  NODE_NAME_PATTERN,
  topologicalOrder,
  type GraphNode,
  type StaticValue,
  type WeightSpec,
} from './graph-nodes';
import { OPS, arityProblem, mustBeStatic } from './graph-ops';
import { TfOpLayer } from './tf-op-layer';

const positiveInts = (min: number, max: number, what: string) =>
  ValidateBy({
    name: 'isShape',
    validator: {
      validate: (v: unknown) =>
        Array.isArray(v) &&
        v.length >= min &&
        v.length <= max &&
        v.every((n) => Number.isSafeInteger(n) && n >= 1),
      defaultMessage: () => `$property must be ${min} to ${max} positive integers (${what})`,
    },
  });

/**
 * Options of an imported TF op graph (the three families share them):
 *
 * - `inputShape`, `outputShape`: the module's input and output without the batch axis;
 * - `input`: the name the nodes use for the module input (the Placeholder, or the node split at);
 * - `output`: the node whose value is the module output;
 * - `nodes`: op nodes `{name, op, inputs, attr}` with normalised attributes, no Const nodes;
 * - `statics`: integer constants by name (`{shape, values}`), read as op parameters;
 * - `weights`: float constants `{name, shape}`, the module's weights (values in the blob);
 * - `inputScale`, `inputOffset`: the input is mapped to `x × scale + offset` first;
 * - `outputChannels`: channels kept from the output's last axis, in order (empty: all);
 * - `outputSize`: `[H, W]` to resize a 4-D output to (a seg head at image size; empty: none);
 * - `outputLabels`: a name per output channel (e.g. the chosen classes), shown by `predict`;
 * - `stride`, `values`: the feature-map port's stride and value range.
 */
export class TfGraphOptions {
  @positiveInts(1, 3, 'the input shape without the batch axis')
  inputShape: number[] = [];

  @positiveInts(1, 3, 'the output shape without the batch axis')
  outputShape: number[] = [];

  @Matches(NODE_NAME_PATTERN)
  input = '';

  @Matches(NODE_NAME_PATTERN)
  output = '';

  @IsArray()
  nodes: GraphNode[] = [];

  @IsObject()
  statics: Record<string, StaticValue> = {};

  @IsArray()
  weights: WeightSpec[] = [];

  @IsNumber({ allowNaN: false, allowInfinity: false })
  inputScale = 1;

  @IsNumber({ allowNaN: false, allowInfinity: false })
  inputOffset = 0;

  @ValidateBy({
    name: 'isChannels',
    validator: {
      validate: (v: unknown) => Array.isArray(v) && v.every((n) => Number.isSafeInteger(n) && n >= 0),
      defaultMessage: () => '$property must be channel indices (non-negative integers)',
    },
  })
  outputChannels: number[] = [];

  @ValidateBy({
    name: 'isSize',
    validator: {
      validate: (v: unknown) =>
        Array.isArray(v) &&
        (v.length === 0 || (v.length === 2 && v.every((n) => Number.isSafeInteger(n) && n >= 1))),
      defaultMessage: () => '$property must be [] or [H, W]',
    },
  })
  outputSize: number[] = [];

  @ValidateBy({
    name: 'isLabels',
    validator: {
      validate: (v: unknown) =>
        Array.isArray(v) &&
        v.length <= 4096 &&
        v.every((l) => typeof l === 'string' && l.length > 0 && l.length <= 100),
      defaultMessage: () => '$property must be class names (1–100 characters each)',
    },
  })
  outputLabels: string[] = [];

  @IsInt()
  @Min(0)
  stride = 1;

  @IsIn(Object.keys(VALUE_RANGES))
  values: ValueRange = 'real';
}

const convAttr = (stride: number, fused: string[]) => ({
  strides: [1, stride, stride, 1],
  dilations: [1, 1, 1, 1],
  padding: 'SAME',
  data_format: 'NHWC',
  fused_ops: fused,
});

/** Defaults: tiny graphs that fit each other (8×8 image → 4×4×4 map at stride 2 → head). */
const CATEGORY_DEFAULTS: Partial<TfGraphOptions> = {
  inputShape: [8, 8, 3],
  outputShape: [4, 4, 4],
  input: 'images',
  output: 'conv',
  nodes: [
    {
      name: 'conv',
      op: '_FusedConv2D',
      inputs: ['images', 'conv/w', 'conv/b'],
      attr: convAttr(2, ['BiasAdd', 'Relu']),
    },
  ],
  weights: [
    { name: 'conv/w', shape: [3, 3, 3, 4] },
    { name: 'conv/b', shape: [4] },
  ],
  stride: 2,
  values: 'non-negative',
};
const CLS_DEFAULTS: Partial<TfGraphOptions> = {
  inputShape: [4, 4, 4],
  outputShape: [1],
  input: 'features',
  output: 'logits',
  nodes: [
    { name: 'gap', op: 'Mean', inputs: ['features', 'gap/axes'], attr: { keep_dims: false } },
    { name: 'fc', op: 'MatMul', inputs: ['gap', 'fc/w'], attr: {} },
    { name: 'logits', op: 'BiasAdd', inputs: ['fc', 'fc/b'], attr: {} },
  ],
  statics: { 'gap/axes': { shape: [2], values: [1, 2] } },
  weights: [
    { name: 'fc/w', shape: [4, 1] },
    { name: 'fc/b', shape: [1] },
  ],
  stride: 2,
  values: 'non-negative',
};
const SEG_DEFAULTS: Partial<TfGraphOptions> = {
  inputShape: [4, 4, 4],
  outputShape: [8, 8, 1],
  input: 'features',
  output: 'mask',
  nodes: [
    {
      name: 'mask',
      op: '_FusedConv2D',
      inputs: ['features', 'mask/w', 'mask/b'],
      attr: convAttr(1, ['BiasAdd']),
    },
  ],
  weights: [
    { name: 'mask/w', shape: [1, 1, 4, 1] },
    { name: 'mask/b', shape: [1] },
  ],
  outputSize: [8, 8],
  stride: 2,
  values: 'non-negative',
};

/** The options class of a family: TfGraphOptions with the family's defaults (deep-copied per instance). */
function withDefaults(defaults: Partial<TfGraphOptions>): new () => TfGraphOptions {
  return class extends TfGraphOptions {
    constructor() {
      super();
      Object.assign(this, structuredClone(defaults));
    }
  };
}

type Violation = { path: string; message: string };

/** Most float elements a module's weights may declare in all (2^28 float32 = 1 GiB). */
export const MAX_WEIGHT_ELEMENTS = 2 ** 28;

/** Most elements a static constant may hold (shapes, axes and paddings are tiny). */
export const MAX_STATIC_ELEMENTS = 4096;

function isNode(raw: unknown): raw is GraphNode {
  if (typeof raw !== 'object' || raw === null) return false;
  const n = raw as Record<string, unknown>;
  return (
    typeof n['name'] === 'string' &&
    typeof n['op'] === 'string' &&
    Array.isArray(n['inputs']) &&
    n['inputs'].every((i) => typeof i === 'string') &&
    typeof n['attr'] === 'object' &&
    n['attr'] !== null
  );
}

/** Structural rules: known ops, names, statics where ops need them, no dead nodes, no cycle. */
export function tfGraphViolations(o: TfGraphOptions): Violation[] {
  const out: Violation[] = [];
  const statics = new Map(Object.entries(o.statics));
  for (const [name, s] of statics) {
    const ok =
      NODE_NAME_PATTERN.test(name) &&
      Array.isArray(s?.shape) &&
      Array.isArray(s?.values) &&
      s.values.length <= MAX_STATIC_ELEMENTS &&
      s.values.every(Number.isSafeInteger) &&
      s.shape.reduce((n, d) => n * d, 1) === s.values.length;
    if (!ok)
      out.push({
        path: `statics.${name}`,
        message: `must be {shape, values} of ≤ ${MAX_STATIC_ELEMENTS} integers`,
      });
  }
  let elements = 0;
  o.weights.forEach((w, i) => {
    const sizes =
      Array.isArray(w?.shape) &&
      w.shape.length <= 8 &&
      w.shape.every((d) => Number.isSafeInteger(d) && d >= 0);
    if (!NODE_NAME_PATTERN.test(String(w?.name)) || !sizes)
      out.push({ path: `weights[${i}]`, message: 'must be {name, shape} with ≤ 8 non-negative sizes' });
    else elements += w.shape.reduce((n, d) => n * d, 1);
  });
  // Checked before build allocates anything (a manifest is untrusted input).
  if (elements > MAX_WEIGHT_ELEMENTS)
    out.push({
      path: 'weights',
      message: `declare ${elements} elements in all, more than the ${MAX_WEIGHT_ELEMENTS} allowed`,
    });
  o.nodes.forEach((n, i) => {
    if (!isNode(n)) out.push({ path: `nodes[${i}]`, message: 'must be {name, op, inputs, attr}' });
    else if (!NODE_NAME_PATTERN.test(n.name))
      out.push({ path: `nodes[${i}].name`, message: 'is not a node name' });
    else if (!Object.hasOwn(OPS, n.op))
      out.push({
        path: `nodes[${i}].op`,
        message: `${n.op} (node ${n.name}) is not supported; supported: ${Object.keys(OPS).join(', ')}`,
      });
    else if (arityProblem(n)) out.push({ path: `nodes[${i}].inputs`, message: arityProblem(n)! });
    else if (n.inputs.every((input) => statics.has(input) || o.weights.some((w) => w.name === input)))
      out.push({
        path: `nodes[${i}].inputs`,
        message: `${n.op} node ${n.name} reads only constants; fold it first`,
      });
    else
      n.inputs.forEach((input, k) => {
        if (mustBeStatic(n.op, k, n.inputs.length) && !statics.has(input))
          out.push({
            path: `nodes[${i}].inputs[${k}]`,
            message: `${n.op} node ${n.name} reads ${input} as a parameter: it must be a static integer constant`,
          });
      });
  });
  const channels = o.outputShape.at(-1);
  if (o.outputLabels.length > 0 && o.outputLabels.length !== channels)
    out.push({
      path: 'outputLabels',
      message: `names ${o.outputLabels.length} channels, the output has ${channels}`,
    });
  if (out.length > 0) return out;
  if (o.nodes.some((n) => n.name === 'input'))
    return [{ path: 'nodes', message: 'a node is named "input", the name of the module input layer' }];
  // Each node's layer stores the constants it reads as `<node>/<constant>`: those names must differ.
  const stored = o.nodes.flatMap((n) =>
    [...new Set(n.inputs)].filter((i) => o.weights.some((w) => w.name === i)).map((i) => `${n.name}/${i}`),
  );
  const clash = stored.filter((n, i) => stored.indexOf(n) !== i);
  if (clash.length > 0)
    return [
      { path: 'weights', message: `the stored weight names ${[...new Set(clash)].join(', ')} would collide` },
    ];
  const names = [o.input, ...statics.keys(), ...o.weights.map((w) => w.name), ...o.nodes.map((n) => n.name)];
  const twice = names.filter((n, i) => names.indexOf(n) !== i);
  if (twice.length > 0)
    return [{ path: 'nodes', message: `${[...new Set(twice)].join(', ')} are named twice` }];
  if (!o.nodes.some((n) => n.name === o.output) && o.output !== o.input)
    return [{ path: 'output', message: `"${o.output}" is not a node of the graph` }];
  try {
    topologicalOrder(o);
  } catch (error) {
    return [{ path: 'nodes', message: (error as Error).message }];
  }
  return [];
}

/** A float32 port of the given shape, channels the last axis. */
function port(
  role: PortRole,
  shape: readonly (number | null)[],
  facts: { stride: number; values: ValueRange },
): Port {
  return {
    role,
    dtype: 'float32',
    shape: [...shape],
    channels: shape[shape.length - 1] as number,
    stride: facts.stride,
    values: facts.values,
  };
}

interface Family {
  readonly family: string;
  readonly defaults: Partial<TfGraphOptions>;
  readonly kind: 'category' | 'task';
  readonly task?: TaskId;
  readonly description: string;
  outputProblem(shape: readonly number[]): string | undefined;
  ports(o: TfGraphOptions): { input: Port; output: Port };
}

function tfGraphPlugin(f: Family): ModulePlugin<TfGraphOptions> {
  return {
    family: f.family,
    version: '1.0.0',
    kind: f.kind,
    ...(f.task !== undefined ? { task: f.task } : {}),
    description: f.description,
    optionsSchema: withDefaults(f.defaults),
    optionViolations(o) {
      const graph = tfGraphViolations(o);
      if (graph.length > 0) return graph;
      const problem = f.outputProblem(o.outputShape);
      return problem ? [{ path: 'outputShape', message: problem }] : [];
    },
    ports: (o) => f.ports(o),
    build(o, { prefix, seed }): BuiltModule {
      // One layer per op node (topological order), framed by the input mapping and the output
      // channel choice / resize; each layer holds the float constants its node reads.
      const weights = new Map(o.weights.map((w) => [w.name, w]));
      const frame = (name: string, op: string, input: string, attr: GraphNode['attr']): GraphNode => ({
        name,
        op,
        inputs: [input],
        attr,
      });
      const nodes: GraphNode[] = [];
      const scaled = o.inputScale !== 1 || o.inputOffset !== 0;
      const start = scaled ? '_scale' : o.input;
      if (scaled)
        nodes.push(frame('_scale', '_Scale', o.input, { scale: o.inputScale, offset: o.inputOffset }));
      const rename = (n: string) => (n === o.input ? start : n);
      for (const n of topologicalOrder(o)) nodes.push({ ...n, inputs: n.inputs.map(rename) });
      let end = rename(o.output);
      if (o.outputChannels.length > 0) {
        nodes.push(frame('_channels', '_Channels', end, { channels: o.outputChannels }));
        end = '_channels';
      }
      if (o.outputSize.length === 2) {
        nodes.push(frame('_resize', '_Resize', end, { size: o.outputSize }));
        end = '_resize';
      }
      const layers = nodes.map(
        (node, i) =>
          new TfOpLayer({
            name: `${prefix}${node.name}`,
            seed: seed + 1024 * i,
            op: {
              node,
              statics: Object.fromEntries(
                node.inputs.filter((n) => Object.hasOwn(o.statics, n)).map((n) => [n, o.statics[n]!]),
              ),
              weights: [...new Set(node.inputs)].filter((n) => weights.has(n)).map((n) => weights.get(n)!),
            },
          }),
      );
      return {
        layers,
        apply: (input: tf.SymbolicTensor) => {
          const values = new Map<string, tf.SymbolicTensor>([[o.input, input]]);
          layers.forEach((layer) => {
            const data = TfOpLayer.dataInputs(layer.op).map((n) => values.get(n)!);
            values.set(
              layer.op.node.name,
              layer.apply(data.length === 1 ? data[0]! : data) as tf.SymbolicTensor,
            );
          });
          return values.get(end)!;
        },
      };
    },
  };
}

/** The lower part of an imported TF graph: image (unit values, stride 1) → the split node's feature map. */
export const graphCategory = tfGraphPlugin({
  family: 'graph-category',
  kind: 'category',
  defaults: CATEGORY_DEFAULTS,
  description: 'lower part of an imported TensorFlow GraphModel (TF ops), up to the node it was split at',
  outputProblem: () => undefined,
  ports: (o) => ({
    input: port('image', [null, ...o.inputShape], { stride: 1, values: 'unit' }),
    output: port('feature-map', [null, ...o.outputShape], o),
  }),
});

/** The upper part of an imported TF graph as a classifier: the feature map → logits [null, K]. */
export const graphCls = tfGraphPlugin({
  family: 'graph-cls',
  kind: 'task',
  defaults: CLS_DEFAULTS,
  task: 'cls',
  description: 'upper part of an imported TensorFlow GraphModel (TF ops): the feature map → logits [null, K]',
  outputProblem: (s) =>
    s.length === 1 ? undefined : `is [${s.join(', ')}]; a classification head outputs logits [null, K]`,
  ports: (o) => ({
    input: port('feature-map', [null, ...o.inputShape], o),
    output: port('logits', [null, ...o.outputShape], { stride: 0, values: 'real' }),
  }),
});

/** The upper part of an imported TF graph as a segmenter: the feature map → mask logits per class at image size. */
export const graphSeg = tfGraphPlugin({
  family: 'graph-seg',
  kind: 'task',
  defaults: SEG_DEFAULTS,
  task: 'seg',
  description:
    'upper part of an imported TensorFlow GraphModel (TF ops): the feature map → mask logits [null, H, W, K] at image size, one channel per class',
  outputProblem: (s) =>
    s.length === 3
      ? undefined
      : `is [${s.join(', ')}]; a segmentation head outputs mask logits [null, H, W, K]`,
  ports: (o) => ({
    input: port('feature-map', [null, ...o.inputShape], o),
    output: port('mask-logits', [null, ...o.outputShape], { stride: 1, values: 'real' }),
  }),
});
