import { TransplantError } from '@transplant/core';

/** A usage error of the command `operation` (exit code 2, hint: run the command with --help). */
export const usage = (message: string, operation: string): TransplantError =>
  new TransplantError('E_USAGE', message, { operation });

/** A command-line integer option, at least `min`; E_USAGE otherwise. */
export function integer(value: string, name: string, min: number, operation = 'transplant'): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min)
    throw usage(`--${name} must be an integer ≥ ${min}, not "${value}"`, operation);
  return n;
}

/**
 * Several integer options at once: `integers(flags, { pool: 1, index: 0 }, 'graph')` parses
 * `flags.pool` (≥ 1) and `flags.index` (≥ 0), in that order, with {@link integer}.
 */
export function integers<K extends string>(
  flags: Readonly<Record<NoInfer<K>, string>>,
  minimums: Readonly<Record<K, number>>,
  operation: string,
): Record<K, number> {
  const parsed = {} as Record<K, number>;
  for (const name of Object.keys(minimums) as K[])
    parsed[name] = integer(flags[name], name, minimums[name], operation);
  return parsed;
}

/** A command-line number option ≥ 0 (a weight); E_USAGE otherwise. */
export function nonNegative(value: string, name: string, operation: string): number {
  const w = Number(value);
  if (!(w >= 0)) throw usage(`--${name} must be a number ≥ 0, not "${value}"`, operation);
  return w;
}

/**
 * A command-line option that must be one of `allowed`, typed as such; E_USAGE otherwise, naming
 * them as "A or B" or "one of A, B, C".
 */
export function oneOf<T extends string>(
  value: string,
  name: string,
  allowed: readonly T[],
  operation: string,
): T {
  if (!(allowed as readonly string[]).includes(value))
    throw usage(
      `--${name} must be ${allowed.length === 2 ? allowed.join(' or ') : `one of ${allowed.join(', ')}`}`,
      operation,
    );
  return value as T;
}
