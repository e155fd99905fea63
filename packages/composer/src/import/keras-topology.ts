import { TransplantError } from '@transplant/core';
import { assertJsonValue } from './json-value';

/** One layer of a functional model config, as Keras and TensorFlow.js write it. */
export interface KerasLayerConfig {
  class_name: string;
  name: string;
  config: Record<string, unknown>;
  /** `[[[producer, 0, 0, {}], …]]`: one node, the layers whose outputs the layer consumes. */
  inbound_nodes: [string, number, number, Record<string, unknown>][][];
}

/** A single-input, single-output layer graph, Sequential models turned into functional form. */
export interface LayersModelGraph {
  readonly name: string;
  /** The InputLayer: its name (what the first layers consume) and its batch shape. */
  readonly input: { readonly name: string; readonly shape: readonly (number | null)[] };
  readonly output: string;
  /** Every layer but the InputLayer, in file order. */
  readonly layers: readonly KerasLayerConfig[];
}

/** Keys that size a model's own input: meaningless inside a module, so dropped. */
const INPUT_KEYS = ['batch_input_shape', 'input_shape', 'batch_size', 'input_dim'];

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function malformed(source: string, detail: string): TransplantError {
  return new TransplantError('E_IMPORT_MODEL', `${source}: ${detail}`, {
    module: source,
    operation: 'parseTopology',
  });
}

function inboundEntries(raw: Record<string, unknown>, source: string): KerasLayerConfig['inbound_nodes'] {
  const nodes = raw['inbound_nodes'];
  if (!Array.isArray(nodes))
    throw malformed(source, `layer ${String(raw['name'])} has no inbound_nodes list`);
  if (nodes.length > 1)
    throw malformed(
      source,
      `layer ${String(raw['name'])} is applied ${nodes.length} times (a shared layer); each layer must be applied once`,
    );
  return nodes.map((node) => {
    if (!Array.isArray(node) || !node.every((e) => Array.isArray(e) && typeof e[0] === 'string')) {
      throw malformed(
        source,
        `layer ${String(raw['name'])} has inbound nodes in a form other than Keras 2's [[["producer", 0, 0, {}]]]`,
      );
    }
    return node.map((e: unknown[]) => {
      if (e[1] !== 0 || e[2] !== 0)
        throw malformed(
          source,
          `layer ${String(raw['name'])} consumes ${String(e[0])}[${String(e[1])}][${String(e[2])}]: shared layers and layers with several outputs are not supported`,
        );
      return [e[0] as string, 0, 0, isObject(e[3]) ? e[3] : {}];
    });
  });
}

/** A layer with exactly the four fields of the functional form and no input sizing keys. */
function normalizeLayer(raw: unknown, source: string, inbound?: string): KerasLayerConfig {
  if (!isObject(raw) || typeof raw['class_name'] !== 'string' || !isObject(raw['config']))
    throw malformed(source, `a layer is not {class_name, config, …}: ${JSON.stringify(raw).slice(0, 200)}`);
  const name = typeof raw['name'] === 'string' ? raw['name'] : raw['config']['name'];
  if (typeof name !== 'string' || name.length === 0)
    throw malformed(source, `a ${raw['class_name']} layer has no name`);
  const config = Object.fromEntries(Object.entries(raw['config']).filter(([k]) => !INPUT_KEYS.includes(k)));
  const inbound_nodes =
    inbound !== undefined
      ? [[[inbound, 0, 0, {}] as [string, number, number, Record<string, unknown>]]]
      : raw['class_name'] === 'InputLayer'
        ? []
        : inboundEntries(raw, source);
  return { class_name: raw['class_name'], name, config, inbound_nodes };
}

function batchShape(layer: Record<string, unknown>, source: string): (number | null)[] {
  const config = (isObject(layer['config']) ? layer['config'] : {}) as Record<string, unknown>;
  const shape =
    config['batch_input_shape'] ??
    config['batch_shape'] ??
    (Array.isArray(config['input_shape']) ? [null, ...(config['input_shape'] as unknown[])] : undefined);
  if (!Array.isArray(shape) || !shape.every((n) => n === null || Number.isSafeInteger(n)))
    throw malformed(source, `the input layer has no batch_input_shape`);
  return shape as (number | null)[];
}

/** The one name in `input_layers` / `output_layers` (`[["name", 0, 0]]`). */
function single(list: unknown, what: 'inputs' | 'outputs', source: string): string {
  if (
    !Array.isArray(list) ||
    list.length === 0 ||
    !list.every((e) => Array.isArray(e) && typeof e[0] === 'string')
  )
    throw malformed(source, `the model config has no ${what}`);
  if (list.length > 1) {
    const names = list.map((e: unknown[]) => e[0] as string);
    throw new TransplantError(
      'E_IMPORT_SPLIT',
      `${source} has ${list.length} ${what} (${names.join(', ')}); a category and a task module have one input and one output each`,
      { module: source, operation: 'split', details: { [what]: names } },
    );
  }
  return (list[0] as unknown[])[0] as string;
}

function functional(config: Record<string, unknown>, source: string): LayersModelGraph {
  if (!Array.isArray(config['layers'])) throw malformed(source, 'the model config has no layers');
  const inputName = single(config['input_layers'], 'inputs', source);
  const output = single(config['output_layers'], 'outputs', source);
  const raw = config['layers'] as unknown[];
  const inputLayer = raw.find(
    (l) =>
      isObject(l) &&
      l['class_name'] === 'InputLayer' &&
      (l['name'] === inputName || (isObject(l['config']) && l['config']['name'] === inputName)),
  );
  if (!isObject(inputLayer)) throw malformed(source, `no InputLayer named ${inputName}`);
  const layers = raw.filter((l) => l !== inputLayer).map((l) => normalizeLayer(l, source));
  return {
    name: String(config['name'] ?? 'model'),
    input: { name: inputName, shape: batchShape(inputLayer, source) },
    output,
    layers,
  };
}

function sequential(config: unknown, source: string): LayersModelGraph {
  const list = Array.isArray(config) ? config : isObject(config) ? config['layers'] : undefined;
  if (!Array.isArray(list) || list.length === 0)
    throw malformed(source, 'the Sequential config has no layers');
  const name = isObject(config) && typeof config['name'] === 'string' ? config['name'] : 'sequential';
  const first = list[0] as Record<string, unknown>;
  const explicit = isObject(first) && first['class_name'] === 'InputLayer';
  const shape = batchShape(first, source);
  const rest = explicit ? list.slice(1) : list;
  const inputName = explicit ? normalizeLayer(first, source).name : `${name}_input`;
  const layers: KerasLayerConfig[] = [];
  for (const raw of rest) layers.push(normalizeLayer(raw, source, layers.at(-1)?.name ?? inputName));
  if (layers.length === 0) throw malformed(source, 'the Sequential model has no layers after its input');
  return { name, input: { name: inputName, shape }, output: layers.at(-1)!.name, layers };
}

/**
 * The layer graph of a model.json: `modelTopology` as tfjs writes it (`{class_name, config}`)
 * or as tensorflowjs_converter writes Keras models (`{model_config: {class_name, config}}`);
 * functional (`Model`, `Functional`) and `Sequential` configs. Malformed topologies, shared
 * layers, nested models and values nested too deep (or, given programmatically, sparse or cyclic)
 * are E_IMPORT_MODEL; several inputs or outputs are E_IMPORT_SPLIT.
 */
export function parseTopology(modelJson: unknown, source: string): LayersModelGraph {
  assertJsonValue(modelJson, source, 'the model', 'parseTopology');
  const topology = isObject(modelJson) ? modelJson['modelTopology'] : undefined;
  if (!isObject(topology))
    throw malformed(
      source,
      'no modelTopology: not a TensorFlow.js LayersModel (a graph model or a SavedModel cannot be split)',
    );
  const model = isObject(topology['model_config']) ? topology['model_config'] : topology;
  const graph =
    model['class_name'] === 'Sequential'
      ? sequential(model['config'], source)
      : model['class_name'] === 'Model' || model['class_name'] === 'Functional'
        ? functional(isObject(model['config']) ? model['config'] : {}, source)
        : undefined;
  if (!graph)
    throw malformed(
      source,
      `a ${String(model['class_name'])} topology is not a Keras Model, Functional or Sequential config`,
    );
  const nested = graph.layers
    .filter((l) => ['Model', 'Functional', 'Sequential', 'InputLayer'].includes(l.class_name))
    .map((l) => l.name);
  if (nested.length > 0)
    throw malformed(
      source,
      `${nested.join(', ')} are nested models or extra inputs; flatten the model into one functional graph first`,
    );
  return graph;
}
