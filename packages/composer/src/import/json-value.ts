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
  // An iterative walk: a frame per open container (an object's keys, or an array by index).
  const frames: { node: object; keys: string[] | undefined; length: number; next: number }[] = [];
  const onPath = new Set<object>();
  const done = new WeakSet<object>();
  const where = () => (frames.length === 0 ? 'the value' : `a value at depth ${frames.length}`);
  const enter = (node: unknown): string | undefined => {
    const type = typeof node;
    // undefined: a property JSON.stringify leaves out (programmatic input only).
    if (node === null || type === 'string' || type === 'number' || type === 'boolean' || type === 'undefined')
      return undefined;
    if (type !== 'object') return `${where()} is a ${type}`;
    const container = node as object;
    if (onPath.has(container)) return `${where()} contains itself`;
    if (done.has(container)) return undefined;
    if (!isPlain(container))
      return `${where()} is a ${container.constructor?.name ?? 'object'}, not JSON data`;
    if (frames.length >= MAX_JSON_DEPTH) return `${where()} nests more than ${MAX_JSON_DEPTH} deep`;
    const keys = Array.isArray(container) ? undefined : Object.keys(container);
    const length = keys ? keys.length : (container as unknown[]).length;
    onPath.add(container);
    frames.push({ node: container, keys, length, next: 0 });
    return undefined;
  };
  const first = enter(value);
  if (first) return first;
  while (frames.length > 0) {
    const frame = frames.at(-1)!;
    if (frame.next === frame.length) {
      frames.pop();
      onPath.delete(frame.node);
      done.add(frame.node);
      continue;
    }
    const at = frame.next++;
    let child: unknown;
    if (frame.keys) child = (frame.node as Record<string, unknown>)[frame.keys[at]!];
    else {
      // A sparse array (a hole where JSON always has a value): programmatic input only. The
      // walk stops at the first hole, so even `new Array(2 ** 32 - 1)` is refused at once.
      if (!(at in frame.node)) return `${where()} is an array with holes`;
      child = (frame.node as unknown[])[at];
    }
    const found = enter(child);
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
