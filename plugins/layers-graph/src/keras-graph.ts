/**
 * The layer graph of an imported module, in Keras functional-config form, and the pure
 * functions over it: which tensors a layer consumes, a topological order, structural rules.
 */

/** The layer classes a graph may hold: `merge` layers take a list of tensors, the others one. */
export const LAYER_CLASSES = {
  Conv2D: 'single',
  Conv2DTranspose: 'single',
  DepthwiseConv2D: 'single',
  SeparableConv2D: 'single',
  Dense: 'single',
  Flatten: 'single',
  Reshape: 'single',
  MaxPooling2D: 'single',
  AveragePooling2D: 'single',
  GlobalAveragePooling2D: 'single',
  GlobalMaxPooling2D: 'single',
  Activation: 'single',
  ReLU: 'single',
  LeakyReLU: 'single',
  ELU: 'single',
  Softmax: 'single',
  BatchNormalization: 'single',
  LayerNormalization: 'single',
  Dropout: 'single',
  UpSampling2D: 'single',
  ZeroPadding2D: 'single',
  Cropping2D: 'single',
  Add: 'merge',
  Concatenate: 'merge',
  Multiply: 'merge',
  Average: 'merge',
  Maximum: 'merge',
  Minimum: 'merge',
} as const;
export type LayerClass = keyof typeof LAYER_CLASSES;

export function isLayerClass(name: unknown): name is LayerClass {
  return typeof name === 'string' && Object.hasOwn(LAYER_CLASSES, name);
}

/**
 * One layer as Keras and TensorFlow.js serialise it in a functional model's config:
 * `inbound_nodes` is `[[[producer, 0, 0, {}], …]]` — one node (each layer is applied once),
 * listing the layers whose outputs it consumes (the module input is named by `input`).
 */
export interface KerasLayer {
  class_name: string;
  name: string;
  config: Record<string, unknown>;
  inbound_nodes: unknown[];
}

/** The part of the options that describes the graph. */
export interface GraphSpec {
  readonly input: string;
  readonly output: string;
  readonly layers: readonly KerasLayer[];
}

/** Keras layer names: no `/`, which separates the layer from the weight in weight names. */
export const LAYER_NAME_PATTERN = /^[A-Za-z0-9_.-]+$/;

type Violation = { path: string; message: string };

/** The names of the tensors a layer consumes, in order; assumes a layer that passed `layerViolations`. */
export function inboundNames(layer: KerasLayer): string[] {
  const node = layer.inbound_nodes[0] as unknown[][];
  return node.map((entry) => entry[0] as string);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isInboundEntry(entry: unknown): boolean {
  return (
    Array.isArray(entry) &&
    entry.length >= 3 &&
    entry.length <= 4 &&
    typeof entry[0] === 'string' &&
    entry[1] === 0 &&
    entry[2] === 0 &&
    (entry.length === 3 || isPlainObject(entry[3]))
  );
}

function layerShapeViolations(raw: unknown, path: string): Violation[] {
  if (!isPlainObject(raw))
    return [{ path, message: 'must be an object {class_name, name, config, inbound_nodes}' }];
  const out: Violation[] = [];
  const extra = Object.keys(raw).filter(
    (k) => !['class_name', 'name', 'config', 'inbound_nodes'].includes(k),
  );
  if (extra.length > 0) out.push({ path, message: `unknown fields ${extra.join(', ')}` });
  if (!isLayerClass(raw['class_name']))
    out.push({
      path: `${path}.class_name`,
      message: `${JSON.stringify(raw['class_name'])} is not supported; supported: ${Object.keys(LAYER_CLASSES).join(', ')}`,
    });
  if (typeof raw['name'] !== 'string' || !LAYER_NAME_PATTERN.test(raw['name']))
    out.push({ path: `${path}.name`, message: 'must be a layer name (letters, digits, _ . -)' });
  if (!isPlainObject(raw['config'])) out.push({ path: `${path}.config`, message: 'must be an object' });
  const nodes = raw['inbound_nodes'];
  if (
    !Array.isArray(nodes) ||
    nodes.length !== 1 ||
    !Array.isArray(nodes[0]) ||
    nodes[0].length === 0 ||
    !nodes[0].every(isInboundEntry)
  ) {
    out.push({
      path: `${path}.inbound_nodes`,
      message:
        'must be one node [[[producer, 0, 0, {}], …]]: each layer is applied once, to outputs of other layers',
    });
  } else if (isLayerClass(raw['class_name'])) {
    const merge = LAYER_CLASSES[raw['class_name']] === 'merge';
    if (merge !== nodes[0].length > 1)
      out.push({
        path: `${path}.inbound_nodes`,
        message: merge ? 'a merge layer takes two or more tensors' : 'takes exactly one tensor',
      });
  }
  return out;
}

/** Ancestors of `target` (itself included) through the inbound edges. */
function ancestors(byName: ReadonlyMap<string, KerasLayer>, target: string): Set<string> {
  const seen = new Set<string>();
  const stack = [target];
  while (stack.length > 0) {
    const name = stack.pop()!;
    const layer = byName.get(name);
    if (seen.has(name) || !layer) continue;
    seen.add(name);
    stack.push(...inboundNames(layer));
  }
  return seen;
}

/**
 * Every way the graph is not one module: malformed layers, duplicate or unknown names, cycles,
 * layers that do not lead to the output. Empty when `topologicalOrder` will succeed.
 */
export function graphViolations(spec: {
  input: string;
  output: string;
  layers: readonly unknown[];
}): Violation[] {
  const shapes = spec.layers.flatMap((raw, i) => layerShapeViolations(raw, `layers[${i}]`));
  if (shapes.length > 0) return shapes;
  const layers = spec.layers as KerasLayer[];
  const out: Violation[] = [];
  const byName = new Map<string, KerasLayer>();
  layers.forEach((layer, i) => {
    if (layer.name === spec.input || byName.has(layer.name))
      out.push({ path: `layers[${i}].name`, message: `"${layer.name}" names the input or another layer` });
    byName.set(layer.name, layer);
  });
  layers.forEach((layer, i) => {
    const unknown = inboundNames(layer).filter((n) => n !== spec.input && !byName.has(n));
    if (unknown.length > 0)
      out.push({
        path: `layers[${i}].inbound_nodes`,
        message: `consumes ${unknown.join(', ')}, which is neither the input "${spec.input}" nor a layer`,
      });
  });
  if (!byName.has(spec.output))
    out.push({ path: 'output', message: `"${spec.output}" is not a layer of the graph` });
  if (out.length > 0) return out;
  const needed = ancestors(byName, spec.output);
  const dead = layers.filter((l) => !needed.has(l.name)).map((l) => l.name);
  if (dead.length > 0)
    out.push({ path: 'layers', message: `${dead.join(', ')} do not lead to the output "${spec.output}"` });
  if (topologicalOrder(spec as GraphSpec).length !== layers.length)
    out.push({ path: 'layers', message: 'the inbound nodes form a cycle' });
  return out;
}

/** The layers in an order where each comes after the layers it consumes (file order kept where possible); shorter when there is a cycle. */
export function topologicalOrder(spec: GraphSpec): KerasLayer[] {
  const done = new Set<string>([spec.input]);
  const order: KerasLayer[] = [];
  let pending = [...spec.layers];
  while (pending.length > 0) {
    const ready = pending.filter((l) => inboundNames(l).every((n) => done.has(n)));
    if (ready.length === 0) break;
    for (const layer of ready) {
      order.push(layer);
      done.add(layer.name);
    }
    pending = pending.filter((l) => !done.has(l.name));
  }
  return order;
}
