import { isTransplantError } from '../errors';

/** Picks an integer in [0, n). */
export type Pick = (n: number) => number;

/** mulberry32: a small seeded generator, so that a failing fuzz case is reproducible by its seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Integers in [0, n) from a generator of [0, 1). */
export const picker =
  (next: () => number): Pick =>
  (n) =>
    Math.floor(next() * n);

/** Arrays and objects nested `depth` deep, alternately. */
export function nested(depth: number): unknown {
  let value: unknown = [];
  for (let i = 0; i < depth; i++) value = i % 2 === 0 ? [value] : { k: value };
  return value;
}

/** Every place in a JSON value (an object key or array index) with the container that holds it. */
export function slots(value: unknown): { holder: Record<string, unknown>; key: string }[] {
  const out: { holder: Record<string, unknown>; key: string }[] = [];
  const stack = [value];
  while (stack.length > 0) {
    const node = stack.pop();
    if (typeof node !== 'object' || node === null) continue;
    for (const key of Object.keys(node)) {
      out.push({ holder: node as Record<string, unknown>, key });
      stack.push((node as Record<string, unknown>)[key]);
    }
  }
  return out;
}

/**
 * `accepted` when `run` returns, the code when it throws a TransplantError; anything else it
 * throws is thrown on: a fuzz case's outcome is a result or a coded refusal, never a crash.
 */
export function outcomeOf(run: () => void, accepted: string): string {
  try {
    run();
    return accepted;
  } catch (error) {
    if (isTransplantError(error)) return error.code;
    throw error;
  }
}
