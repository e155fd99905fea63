import { TransplantError } from '@transplant/core';

/**
 * The deepest nesting a model.json value may hold. TensorFlow.js files nest about 15 deep (a
 * graph node's attribute tensor shapes, a Keras layer's nested config); the limit keeps every
 * recursive reader (JSON.stringify in messages, tfjs' own deserialisation) far from the stack's
 * end. JSON.parse itself is iterative and reads a file nested 10⁵ deep without complaint.
 */
export const MAX_JSON_DEPTH = 256;

const isPlain = (value: object): boolean => {
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === Array.prototype || proto === null;
};

/** Why a value is not the JSON data a model file parses to, or undefined when it is. */
function problem(value: unknown): string | undefined {
  // An iterative walk: a frame per open container, its keys and the next one to visit.
  const frames: { node: object; keys: string[]; next: number }[] = [];
  const onPath = new Set<object>();
  const done = new WeakSet<object>();
  const enter = (node: unknown, where: string): string | undefined => {
    // undefined: a property JSON.stringify leaves out (programmatic input only).
    const scalar = ['string', 'number', 'boolean', 'undefined'].includes(typeof node);
    if (node === null || scalar) return undefined;
    if (typeof node !== 'object') return `${where} is a ${typeof node}`;
    if (onPath.has(node)) return `${where} contains itself`;
    if (done.has(node)) return undefined;
    if (!isPlain(node)) return `${where} is a ${node.constructor?.name ?? 'object'}, not JSON data`;
    if (frames.length >= MAX_JSON_DEPTH) return `${where} nests more than ${MAX_JSON_DEPTH} deep`;
    const keys = Object.keys(node);
    // A sparse array (a hole where JSON always has a value): programmatic input only.
    if (Array.isArray(node) && keys.length !== node.length) return `${where} is an array with holes`;
    onPath.add(node);
    frames.push({ node, keys, next: 0 });
    return undefined;
  };
  const first = enter(value, 'the value');
  if (first) return first;
  while (frames.length > 0) {
    const frame = frames.at(-1)!;
    if (frame.next === frame.keys.length) {
      frames.pop();
      onPath.delete(frame.node);
      done.add(frame.node);
      continue;
    }
    const key = frame.keys[frame.next++]!;
    const found = enter((frame.node as Record<string, unknown>)[key], `a value at depth ${frames.length}`);
    if (found) return found;
  }
  return undefined;
}

/**
 * Refuses a value that no JSON file parses to — nested deeper than `MAX_JSON_DEPTH`, cyclic,
 * sparse, or holding non-JSON values (bigint, functions, class instances) — with
 * E_IMPORT_MODEL, before any reader recurses into it or stringifies it.
 */
export function assertJsonValue(value: unknown, source: string, what: string, operation: string): void {
  const why = problem(value);
  if (why !== undefined)
    throw new TransplantError('E_IMPORT_MODEL', `${source}: ${what} is not JSON data: ${why}`, {
      module: source,
      operation,
    });
}
