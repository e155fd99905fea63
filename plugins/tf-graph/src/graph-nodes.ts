/**
 * The op graph of an imported TensorFlow GraphModel part, as the module options hold it, and the
 * pure functions over it: normalised node attributes, the tensors a node reads, a topological
 * order and structural checks. Constants are not nodes here: float constants are the module's
 * weights, integer constants (shapes, axes, sizes) are `statics` in the options.
 */

/** An attribute value after normalisation: TF's `{i}`, `{f}`, `{b}`, `{s}` (base64), `{type}`, `{list}`. */
export type AttrValue = number | string | boolean | number[] | string[];

/** One op node: its name, TF op, the names it reads (producer names, in order) and attributes. */
export interface GraphNode {
  name: string;
  op: string;
  inputs: string[];
  attr: Record<string, AttrValue>;
}

/** A small integer constant (a shape, axes, sizes, paddings): kept in the options as numbers. */
export interface StaticValue {
  shape: number[];
  values: number[];
}

/** A float constant: a weight of the module, its values in the weight blob. */
export interface WeightSpec {
  name: string;
  shape: number[];
}

/** The part of the options that describes the graph. */
export interface GraphSpec {
  readonly input: string;
  readonly output: string;
  readonly nodes: readonly GraphNode[];
  readonly statics: Readonly<Record<string, StaticValue>>;
  readonly weights: readonly WeightSpec[];
}

/** TF node names: letters, digits and `_ . - /`, as TensorFlow allows them. */
export const NODE_NAME_PATTERN = /^[A-Za-z0-9.][A-Za-z0-9_.\-/]{0,254}$/;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const decodeBase64 = (s: unknown): string => Buffer.from(String(s), 'base64').toString('utf8');

/**
 * A TF attribute as a plain value, or undefined for the kinds an op never reads here (shapes,
 * tensors, functions). Integers arrive as strings in the JSON (int64).
 */
export function normaliseAttr(raw: unknown): AttrValue | undefined {
  if (!isObject(raw)) return undefined;
  if ('i' in raw) return Number(raw['i']);
  if ('f' in raw) return Number(raw['f']);
  if ('b' in raw) return Boolean(raw['b']);
  if ('s' in raw) return decodeBase64(raw['s']);
  if ('type' in raw) return String(raw['type']);
  if (isObject(raw['list'])) {
    const list = raw['list'];
    if (Array.isArray(list['i'])) return (list['i'] as unknown[]).map(Number);
    if (Array.isArray(list['f'])) return (list['f'] as unknown[]).map(Number);
    if (Array.isArray(list['s'])) return (list['s'] as unknown[]).map(decodeBase64);
    if (Array.isArray(list['type'])) return (list['type'] as unknown[]).map(String);
    return [];
  }
  return undefined;
}

/** The producer a TF input reference names: `name`, `name:0`; control inputs (`^name`) are not data. */
export function producerOf(ref: string): { name: string; output: number } | undefined {
  if (ref.startsWith('^')) return undefined;
  const m = /^(.*?)(?::(\d+))?$/.exec(ref)!;
  return { name: m[1]!, output: m[2] === undefined ? 0 : Number(m[2]) };
}

/** Every name a node may read: the module input, statics, weights and earlier nodes. */
function knownNames(spec: GraphSpec): Set<string> {
  return new Set([
    spec.input,
    ...Object.keys(spec.statics),
    ...spec.weights.map((w) => w.name),
    ...spec.nodes.map((n) => n.name),
  ]);
}

/**
 * The nodes in an order where each comes after every node it reads (Kahn's algorithm, stable in
 * file order). A cycle or an unknown input throws.
 */
export function topologicalOrder(spec: GraphSpec): GraphNode[] {
  const known = knownNames(spec);
  const byName = new Map(spec.nodes.map((n) => [n.name, n]));
  const pending = new Map(spec.nodes.map((n) => [n.name, 0]));
  const readers = new Map<string, GraphNode[]>();
  for (const node of spec.nodes) {
    for (const name of node.inputs) {
      if (!known.has(name)) throw new Error(`node ${node.name} reads ${name}, which is not in the graph`);
      if (byName.has(name)) {
        pending.set(node.name, pending.get(node.name)! + 1);
        readers.set(name, [...(readers.get(name) ?? []), node]);
      }
    }
  }
  const ready = spec.nodes.filter((n) => pending.get(n.name) === 0);
  const order: GraphNode[] = [];
  while (ready.length > 0) {
    const node = ready.shift()!;
    order.push(node);
    for (const reader of readers.get(node.name) ?? []) {
      const left = pending.get(reader.name)! - 1;
      pending.set(reader.name, left);
      if (left === 0) ready.push(reader);
    }
  }
  if (order.length !== spec.nodes.length)
    throw new Error(
      `the graph has a cycle through ${spec.nodes.find((n) => pending.get(n.name)! > 0)!.name}`,
    );
  return order;
}
