import * as tf from '@tensorflow/tfjs';
import {
  TransplantError,
  isModuleName,
  isTransplantError,
  loadModuleWeights,
  normaliseTfAttr,
  parsePluginOptions,
  type TaskId,
  type ValueRange,
} from '@transplant/core';
import { createModule, disposeModule, type ModuleInstance } from '../module-instance';
import type { PluginRegistry } from '../plugin-registry';
import { featureStride } from './feature-port';
import { assertJsonValue } from './json-value';
import type { ImportedModules } from './import-layers-model';
import type { LayersModelFiles, NamedArray } from './model-weights';

/** The plugin families imported graph parts are built by (registered at the composition root). */
export const GRAPH_FAMILIES = {
  category: 'graph-category',
  cls: 'graph-cls',
  seg: 'graph-seg',
} as const satisfies Record<'category' | TaskId, string>;

/** A TF NodeDef as model.json holds it. */
interface NodeDef {
  name: string;
  op: string;
  input: string[];
  attr: Record<string, unknown>;
}

/** A GraphModel read for splitting: op nodes, constants by name, the one input, the outputs. */
export interface TfGraphModel {
  readonly source: string;
  readonly nodes: ReadonlyMap<string, NodeDef>;
  /** Node names in file order (op nodes and constants). */
  readonly order: readonly string[];
  readonly constants: ReadonlyMap<string, NamedArray>;
  readonly placeholder: { readonly name: string; readonly shape: readonly number[] };
  /** The signature's outputs (node names), else the nodes nothing reads. */
  readonly outputs: readonly string[];
}

export interface ImportGraphModelOptions {
  readonly model: LayersModelFiles;
  /** The node to split after: its value is the feature map between the two modules. */
  readonly split: string;
  /** The node whose value is the task module's output (default: the model's one output). */
  readonly output?: string;
  readonly category: string;
  readonly task: TaskId;
  readonly name?: string;
  readonly stride?: number;
  /** The input range the model expects, mapped from unit images: [0, 255], [-1, 1] … (default [0, 1]). */
  readonly inputRange?: readonly [number, number];
  /** Output channels kept, in order (e.g. the chosen classes of a detector's heat maps). */
  readonly channels?: readonly number[];
  /** A name per kept channel (the classes), stored with the task module for `predict`. */
  readonly labels?: readonly string[];
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function bad(
  source: string,
  detail: string,
  code: 'E_IMPORT_MODEL' | 'E_IMPORT_SPLIT' = 'E_IMPORT_MODEL',
): TransplantError {
  return new TransplantError(code, `${source}: ${detail}`, { module: source, operation: 'importGraph' });
}

/** The largest input side accepted (a 4096×4096 image); larger inputs are refused before running anything. */
export const MAX_INPUT_SIDE = 4096;

/** Whether a model.json is a GraphModel (TF nodes) rather than a LayersModel (Keras layers). */
export function isGraphModelJson(json: unknown): boolean {
  return isObject(json) && isObject(json['modelTopology']) && Array.isArray(json['modelTopology']['node']);
}

/** A producer name from an input reference; only output 0 of a node can be read here. */
function producer(ref: string, reader: string, source: string): string | undefined {
  if (ref.startsWith('^')) return undefined;
  const m = /^(.*?)(?::(\d+))?$/.exec(ref)!;
  if (m[2] !== undefined && m[2] !== '0')
    throw bad(
      source,
      `node ${reader} reads output ${m[2]} of ${m[1]}; only a node's first output can be imported`,
    );
  return m[1]!;
}

function dims(shape: unknown): number[] | undefined {
  const d = isObject(shape) && Array.isArray(shape['dim']) ? (shape['dim'] as unknown[]) : undefined;
  return d?.map((x) => Number(isObject(x) ? (x['size'] ?? -1) : -1));
}

/** Reads a GraphModel's nodes: every Const must have its value in the weights. */
export function parseGraphModel(files: LayersModelFiles): TfGraphModel {
  const source = files.source;
  assertJsonValue(files.modelJson, source, 'the model', 'importGraph');
  if (!isGraphModelJson(files.modelJson))
    throw bad(source, 'no modelTopology.node list: not a TensorFlow.js GraphModel');
  const json = files.modelJson as { modelTopology: { node: unknown[] }; signature?: unknown };
  const nodes = new Map<string, NodeDef>();
  const order: string[] = [];
  for (const raw of json.modelTopology.node) {
    if (!isObject(raw) || typeof raw['name'] !== 'string' || typeof raw['op'] !== 'string')
      throw bad(source, `a node is not {name, op, …}: ${JSON.stringify(raw).slice(0, 200)}`);
    if (nodes.has(raw['name'])) throw bad(source, `node ${raw['name']} appears twice`);
    const input = Array.isArray(raw['input']) ? (raw['input'] as unknown[]).map(String) : [];
    nodes.set(raw['name'], {
      name: raw['name'],
      op: raw['op'],
      input,
      attr: isObject(raw['attr']) ? raw['attr'] : {},
    });
    order.push(raw['name']);
  }
  const weights = new Map(files.weights.map((w) => [w.name, w]));
  const constants = new Map<string, NamedArray>();
  for (const node of nodes.values()) {
    if (node.op !== 'Const') continue;
    const w = weights.get(node.name);
    if (!w) throw bad(source, `constant ${node.name} has no values in the weights manifest`);
    constants.set(node.name, w);
  }
  const placeholders = [...nodes.values()].filter((n) => n.op === 'Placeholder');
  if (placeholders.length !== 1)
    throw bad(
      source,
      `the graph has ${placeholders.length} inputs (${placeholders.map((p) => p.name).join(', ')}); a category module has one image input`,
      'E_IMPORT_SPLIT',
    );
  const p = placeholders[0]!;
  const shape = dims(isObject(p.attr['shape']) ? p.attr['shape']['shape'] : undefined);
  if (!shape || shape.length !== 4 || shape.slice(1).some((d) => !(d >= 1 && d <= MAX_INPUT_SIDE)))
    throw bad(
      source,
      `the input ${p.name} has shape [${shape?.join(', ') ?? '?'}]; an image input [batch, H, W, C] of fixed size is needed`,
    );
  const signature =
    isObject(json.signature) && isObject(json.signature['outputs']) ? json.signature['outputs'] : {};
  const named = Object.values(signature)
    .map((o) =>
      isObject(o) && typeof o['name'] === 'string' ? producer(o['name'], 'signature', source) : undefined,
    )
    .filter((n): n is string => n !== undefined && nodes.has(n));
  const read = new Set(
    [...nodes.values()].flatMap((n) => n.input.map((i) => i.replace(/^\^/, '').replace(/:\d+$/, ''))),
  );
  const outputs =
    named.length > 0 ? named : order.filter((n) => !read.has(n) && nodes.get(n)!.op !== 'Const');
  return { source, nodes, order, constants, placeholder: { name: p.name, shape }, outputs };
}

/** Ops whose output is a probability, not a logit: a head ending in one is warned about. */
const PROBABILITY_OPS = new Set(['Sigmoid', 'Softmax']);

/** The op nodes (not constants) a node depends on, itself included. */
function ancestors(graph: TfGraphModel, from: string): Set<string> {
  const seen = new Set<string>();
  const stack = [from];
  while (stack.length > 0) {
    const name = stack.pop()!;
    if (seen.has(name) || graph.constants.has(name)) continue;
    const node = graph.nodes.get(name);
    if (!node) throw bad(graph.source, `node ${name} is not in the graph`, 'E_IMPORT_SPLIT');
    seen.add(name);
    for (const ref of node.input) {
      const p = producer(ref, name, graph.source);
      if (p !== undefined) stack.push(p);
    }
  }
  return seen;
}

/** The upper nodes that read a lower node other than the split: empty for a clean cut. */
function leaks(graph: TfGraphModel, lower: Set<string>, upper: Set<string>, split: string): string[] {
  const out: string[] = [];
  for (const name of upper)
    for (const ref of graph.nodes.get(name)!.input) {
      const p = producer(ref, name, graph.source);
      if (p !== undefined && p !== split && lower.has(p)) out.push(`${name} reads ${p}`);
    }
  return out;
}

/** Nodes where the graph can be cut on the way to `output`: everything after reads only that node. */
export function graphSplitPoints(graph: TfGraphModel, output: string): string[] {
  const needed = ancestors(graph, output);
  return graph.order.filter((name) => {
    if (!needed.has(name) || name === output || graph.nodes.get(name)!.op === 'Placeholder') return false;
    const lower = ancestors(graph, name);
    const upper = new Set([...needed].filter((n) => !lower.has(n)));
    return leaks(graph, lower, upper, name).length === 0;
  });
}

interface PartOptions {
  input: string;
  output: string;
  nodes: { name: string; op: string; inputs: string[]; attr: Record<string, unknown> }[];
  statics: Record<string, { shape: number[]; values: number[] }>;
  weights: { name: string; shape: number[] }[];
}

/** A part's options: its op nodes in file order, with the constants they read split into statics and weights. */
function partOptions(
  graph: TfGraphModel,
  names: ReadonlySet<string>,
  input: string,
  output: string,
): PartOptions {
  const nodes = graph.order
    .filter((n) => names.has(n) && n !== input)
    .map((n) => graph.nodes.get(n)!)
    .map((n) => ({
      name: n.name,
      op: n.op,
      inputs: n.input.flatMap((ref) => {
        const p = producer(ref, n.name, graph.source);
        return p === undefined ? [] : [p];
      }),
      attr: Object.fromEntries(
        Object.entries(n.attr)
          .map(([k, v]) => [k, normaliseTfAttr(v)] as const)
          .filter(([, v]) => v !== undefined),
      ),
    }));
  const read = new Set(nodes.flatMap((n) => n.inputs));
  const statics: Record<string, { shape: number[]; values: number[] }> = {};
  const weights: { name: string; shape: number[] }[] = [];
  for (const name of graph.order) {
    const c = graph.constants.get(name);
    if (!c || !read.has(name)) continue;
    if (c.dtype === 'int32') statics[name] = { shape: [...c.shape], values: Array.from(c.data) };
    else weights.push({ name, shape: [...c.shape] });
  }
  return { input, output, nodes, statics, weights };
}

/** The value range of a node's output, from its op: ReLU-family → non-negative, sigmoid → unit. */
function valuesOf(graph: TfGraphModel, name: string): ValueRange {
  // Identity chains are followed to the op that makes the value; a cycle of them reads as 'real'.
  const seen = new Set<string>();
  let node = graph.nodes.get(name)!;
  while (node.op === 'Identity' && !seen.has(node.name)) {
    seen.add(node.name);
    const p = producer(node.input[0] ?? '', node.name, graph.source);
    const next = p === undefined ? undefined : graph.nodes.get(p);
    if (!next) return 'real';
    node = next;
  }
  if (node.op === 'Identity') return 'real';
  if (['Relu', 'Relu6'].includes(node.op)) return 'non-negative';
  if (node.op === 'Sigmoid') return 'unit';
  const fused = normaliseTfAttr(node.attr['fused_ops']);
  if (Array.isArray(fused) && ['Relu', 'Relu6'].includes(String(fused.at(-1)))) return 'non-negative';
  return 'real';
}

/** Loads the original model with stock tfjs (the reference for shapes and for the check). */
export async function loadOriginalGraph(files: LayersModelFiles): Promise<tf.GraphModel> {
  const json = files.modelJson as { modelTopology: object; signature?: object };
  // tfjs decodes the weights into tensors before it reads the graph, so a graph it then refuses
  // (e.g. an attribute that is not base64) would leave them behind: a scope frees what a failed
  // load made, and keeps a loaded model's weights. (The load is not interleaved with other tfjs
  // work: an import runs one step at a time.)
  tf.engine().startScope();
  let model: tf.GraphModel | undefined;
  try {
    model = await tf.loadGraphModel(
      tf.io.fromMemory({
        modelTopology: json.modelTopology,
        // The stored bytes with their quantisation: stock tfjs decodes them itself.
        weightSpecs: files.stored.specs,
        weightData: files.stored.data,
        ...(json.signature ? { signature: json.signature } : {}),
      } as tf.io.ModelArtifacts),
    );
    return model;
  } finally {
    tf.engine().endScope(model ? Object.values(model.weights).flat() : []);
  }
}

/** A part the graph plugins refuse (its options) or fail to build: the model cannot be imported. */
function rejected(part: string, error: unknown): unknown {
  if (!isTransplantError(error, 'E_OPTIONS_INVALID') && !isTransplantError(error, 'E_PLUGIN_FAILED'))
    return error;
  return new TransplantError('E_IMPORT_MODEL', `the ${part} cannot be imported: ${error.message}`, {
    operation: 'import',
    details: error.details,
    cause: error,
  });
}

/** Loads the float constants into the part's op layers: `<node>/<constant>` for each node reading one. */
function loadConstants(instance: ModuleInstance, graph: TfGraphModel, part: PartOptions): void {
  const floats = new Set(part.weights.map((w) => w.name));
  const tensors: Record<string, tf.Tensor> = {};
  for (const node of part.nodes)
    for (const name of new Set(node.inputs.filter((n) => floats.has(n)))) {
      const c = graph.constants.get(name)!;
      tensors[`${node.name}/${name}`] = tf.tensor(c.data as Float32Array, [...c.shape], 'float32');
    }
  try {
    loadModuleWeights(instance, { tensors, module: instance.name });
  } finally {
    tf.dispose(Object.values(tensors));
  }
}

/** What `planGraphImport` settles before stock tfjs runs anything. */
export interface GraphImportPlan {
  readonly name: string;
  readonly graph: TfGraphModel;
  readonly output: string;
  /** The op nodes of the category module (up to the split) and of the task module. */
  readonly lower: ReadonlySet<string>;
  readonly upper: ReadonlySet<string>;
  readonly warnings: string[];
  /** The value range of the feature map (the split node's output). */
  readonly values: ValueRange;
}

/**
 * The checks of a GraphModel import that need no TensorFlow.js run: names, the graph read, the
 * output and the split (a clean cut), and both parts' options as their plugins parse them (with
 * provisional shapes). Everything a hostile model.json can get wrong in its topology is refused
 * here with a code; `importGraphModel` runs the original only after it.
 */
export function planGraphImport(plugins: PluginRegistry, options: ImportGraphModelOptions): GraphImportPlan {
  const source = options.model.source;
  const name = options.name ?? `${options.category}-${options.task}-imported`;
  for (const [what, value] of [
    ['category', options.category],
    ['name', `${name}-features`],
  ] as const)
    if (!isModuleName(value))
      throw new TransplantError('E_MODULE_REF_INVALID', `${what} "${value}" is not a module name`, {
        module: source,
        operation: 'import',
      });
  const graph = parseGraphModel(options.model);
  const output = options.output ?? (graph.outputs.length === 1 ? graph.outputs[0]! : undefined);
  if (output === undefined)
    throw bad(
      source,
      `the model has ${graph.outputs.length} outputs (${graph.outputs.join(', ')}); choose one (--output)`,
      'E_IMPORT_SPLIT',
    );
  if (!graph.nodes.has(options.split) || graph.constants.has(options.split))
    throw bad(source, `there is no op node "${options.split}" to split at`, 'E_IMPORT_SPLIT');
  const needed = ancestors(graph, output);
  if (!needed.has(options.split))
    throw bad(
      source,
      `${output} does not depend on ${options.split}: split at a node on its way`,
      'E_IMPORT_SPLIT',
    );
  if (options.split === output)
    throw bad(
      source,
      `${output} is the output itself: the task module would hold no op; split at a node before it`,
      'E_IMPORT_SPLIT',
    );
  const lower = ancestors(graph, options.split);
  const upper = new Set([...needed].filter((n) => !lower.has(n)));
  const bypass = leaks(graph, lower, upper, options.split);
  if (bypass.length > 0) {
    const points = graphSplitPoints(graph, output);
    const at = graph.order.indexOf(options.split);
    const after = points.filter((p) => graph.order.indexOf(p) > at);
    const near = (after.length > 0 ? after.slice(0, 4) : points.slice(-4)).concat();
    throw new TransplantError(
      'E_IMPORT_SPLIT',
      `${source}: the ops after ${options.split} also read ${bypass.length} earlier node(s) (${bypass.slice(0, 3).join('; ')}): a skip connection crosses the cut. Nodes where the graph can be cut: ${near.join(', ')}`,
      { module: source, operation: 'split', details: { bypass, splitPoints: points } },
    );
  }
  const [h, w, c] = graph.placeholder.shape.slice(1) as [number, number, number];
  // The parts' ops, names and constants are checked (with provisional shapes) before the
  // original runs: an unsupported op is refused here, not after stock tfjs ran the whole graph.
  const provisional = {
    inputScale: 1,
    inputOffset: 0,
    outputChannels: [],
    outputSize: [],
    stride: 1,
    values: 'real',
  };
  for (const [part, family, names, input, end, shapes] of [
    [
      'lower part',
      GRAPH_FAMILIES.category,
      lower,
      graph.placeholder.name,
      options.split,
      { inputShape: [h, w, c], outputShape: [1] },
    ],
    [
      'upper part',
      GRAPH_FAMILIES[options.task],
      upper,
      options.split,
      output,
      { inputShape: [1], outputShape: options.task === 'seg' ? [1, 1, 1] : [1] },
    ],
  ] as const) {
    try {
      parsePluginOptions(plugins.get(family), {
        ...partOptions(graph, names, input, end),
        ...provisional,
        ...shapes,
      });
    } catch (error) {
      throw rejected(part, error);
    }
  }
  const last = graph.nodes.get(output)!;
  const squashed = PROBABILITY_OPS.has(last.op)
    ? [
        `warning: the output node ${output} is a ${last.op}, so the head outputs probabilities; Transplant reads a head's output as logits (0 = undecided): cut before it with --output ${last.input[0] !== undefined ? (producer(last.input[0], output, source) ?? last.input[0]) : '<its input>'}`,
      ]
    : [];
  const warnings = [
    ...squashed,
    ...[...upper]
      .map((n) => graph.nodes.get(n)!)
      .filter((n) => {
        // Any value may stand here in a hostile file: only a list of numbers above 1 is a dilation.
        const dilations = normaliseTfAttr(n.attr['dilations']);
        return Array.isArray(dilations) && dilations.some((d) => typeof d === 'number' && d > 1);
      })
      .map(
        (n) =>
          `warning: ${n.op} node ${n.name} is dilated; tfjs has no gradient for dilated convolutions, so an adapter below this head cannot be trained through it`,
      ),
  ];
  return { name, graph, output, lower, upper, warnings, values: valuesOf(graph, options.split) };
}

/**
 * Splits a TensorFlow GraphModel at node `split` into a category module (the input and every op
 * the split node depends on) and a task module (the ops from there to `output`), built by the
 * graph-* plugin families with the model's constants as weights. A cut that the later ops
 * bypass (a skip connection across it) is refused with the nodes where it can be made. Shapes
 * come from running the original once (stock tfjs) on a blank image. The caller owns the modules.
 */
export async function importGraphModel(
  plugins: PluginRegistry,
  options: ImportGraphModelOptions,
): Promise<
  ImportedModules & { original: tf.GraphModel; graph: TfGraphModel; output: string; warnings: string[] }
> {
  const { name, graph, output, lower, upper, warnings, values } = planGraphImport(plugins, options);
  const source = options.model.source;
  const [h, w, c] = graph.placeholder.shape.slice(1) as [number, number, number];
  let original: tf.GraphModel;
  try {
    original = await loadOriginalGraph(options.model);
  } catch (cause) {
    throw new TransplantError(
      'E_IMPORT_MODEL',
      `${source}: stock TensorFlow.js cannot load the model (${(cause as Error).message}); it is the reference an import is checked against`,
      { module: source, operation: 'importGraph', cause },
    );
  }
  try {
    let featureShape: number[];
    let outputShape: number[];
    try {
      [featureShape, outputShape] = tf.tidy(() => {
        const outs = original.execute(tf.zeros([1, h, w, c]), [options.split, output]) as tf.Tensor[];
        return outs.map((t) => t.shape.slice(1));
      }) as [number[], number[]];
    } catch (cause) {
      throw new TransplantError(
        'E_IMPORT_MODEL',
        `${source}: stock TensorFlow.js cannot run the model (${(cause as Error).message}); it is the reference an import is checked against`,
        { module: source, operation: 'importGraph', cause },
      );
    }
    const [lo, hi] = options.inputRange ?? [0, 1];
    const channels = [...(options.channels ?? [])];
    const last = outputShape!.at(-1)!;
    const outside = channels.filter((k) => !(k < last));
    if (outside.length > 0)
      throw bad(source, `channels ${outside.join(', ')} are not among the output's ${last}`);
    const seg = options.task === 'seg';
    if (seg && outputShape!.length !== 3)
      throw bad(source, `the output ${output} is [${outputShape!.join(', ')}]; a seg head needs [H, W, K]`);
    if (!seg && outputShape!.length !== 1)
      throw bad(source, `the output ${output} is [${outputShape!.join(', ')}]; a cls head needs logits [K]`);
    const headShape = seg ? [h, w, channels.length || last] : [channels.length || last];
    const stride = featureStride([null, h, w, c], [null, ...featureShape!], options.split, options.stride);
    const frame = { inputScale: hi - lo, inputOffset: lo, outputChannels: [], outputSize: [] };
    const lowerOptions = {
      ...partOptions(graph, lower, graph.placeholder.name, options.split),
      ...frame,
      inputShape: [h, w, c],
      outputShape: featureShape,
      stride,
      values,
    };
    const upperOptions = {
      ...partOptions(graph, upper, options.split, output),
      inputScale: 1,
      inputOffset: 0,
      outputChannels: channels,
      outputLabels: [...(options.labels ?? [])],
      outputSize: seg ? [h, w] : [],
      inputShape: featureShape,
      outputShape: headShape,
      stride,
      values,
    };
    const made: ModuleInstance[] = [];
    try {
      try {
        made.push(
          createModule(plugins, {
            name: `${name}-features`,
            family: GRAPH_FAMILIES.category,
            options: lowerOptions,
            category: options.category,
          }),
        );
      } catch (error) {
        throw rejected('lower part', error);
      }
      try {
        made.push(
          createModule(plugins, {
            name: `${name}-head`,
            family: GRAPH_FAMILIES[options.task],
            options: upperOptions,
          }),
        );
      } catch (error) {
        throw rejected('upper part', error);
      }
      loadConstants(made[0]!, graph, lowerOptions);
      loadConstants(made[1]!, graph, upperOptions);
    } catch (error) {
      made.forEach(disposeModule);
      throw error;
    }
    return {
      name,
      category: made[0]!,
      task: made[1]!,
      feature: made[0]!.ports.output,
      original,
      graph,
      output,
      warnings,
    };
  } catch (error) {
    original.dispose();
    throw error;
  }
}
