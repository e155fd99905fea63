import type { TfAttrValue } from '@transplant/core';
/**
 * The op graph of an imported TensorFlow GraphModel part, as the module options hold it, and the
 * pure functions over it: normalised node attributes, the tensors a node reads, a topological
 * order and structural checks. Constants are not nodes here: float constants are the module's
 * weights, integer constants (shapes, axes, sizes) are `statics` in the options.
 */

/** An attribute value after normalisation (see normaliseTfAttr in @transplant/core). */
export type AttrValue = TfAttrValue;

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
