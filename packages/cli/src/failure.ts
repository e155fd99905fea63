import { inspect } from 'node:util';
import {
  TransplantError,
  isTransplantError,
  type Environment,
  type ErrorCode,
} from '@transplant/core/options';

/**
 * Codes that mean the command was called wrongly (exit 2): the CLI's own E_USAGE, and the
 * libraries' codes for a bad value that an option or TRANSPLANT_REGISTRY passes through.
 */
const USAGE_EXIT_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'E_USAGE',
  'E_INVALID_ARGUMENT',
  'E_REGISTRY_LOCATION_INVALID',
  'E_GRAPH_MISMATCH',
  'E_AOG_MISMATCH',
]);

/** Longest description of an uncoded failure in the one line (the rest is for TRANSPLANT_DEBUG=1). */
const MAX_DETAIL = 200;

function shorten(text: string): string {
  const line = text.split('\n')[0] ?? '';
  return line.length > MAX_DETAIL ? `${line.slice(0, MAX_DETAIL - 1)}…` : line;
}

/**
 * Any thrown value as a coded error: a TransplantError as it is; anything else (a plain Error, or
 * a thrown `undefined`, string, object) is E_INTERNAL, named in one short line, kept as the cause.
 */
export function toCodedError(thrown: unknown): TransplantError {
  if (isTransplantError(thrown)) return thrown;
  const detail =
    thrown instanceof Error
      ? `${thrown.name}: ${shorten(thrown.message) || '(no message)'}`
      : `a non-Error value was thrown: ${shorten(inspect(thrown, { depth: 1, breakLength: Infinity }))}`;
  return new TransplantError('E_INTERNAL', detail, { cause: thrown });
}

/** Is TRANSPLANT_DEBUG set (to anything but empty or 0)? Then a failure also prints its stack. */
export function isDebug(env: Environment): boolean {
  const value = env['TRANSPLANT_DEBUG'];
  return value !== undefined && value !== '' && value !== '0';
}

/** The stack of a failure and of each of its causes; a value that is no Error, inspected. */
function stackOf(error: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = error, depth = 0; e !== undefined && depth < 8; depth++) {
    parts.push(
      e instanceof Error
        ? (e.stack ?? `${e.name}: ${e.message}`)
        : `${inspect(e)} (a thrown value that is not an Error has no stack)`,
    );
    e = e instanceof Error ? e.cause : undefined;
  }
  return parts.join('\ncaused by: ');
}

/**
 * What a failed command prints (on stderr) and exits with: one coded line — or one JSON object
 * `{"error":{code,message}}` with --json — and 2 for a wrong call, 1 otherwise. The stack only
 * with TRANSPLANT_DEBUG=1 (after the line, or as `error.stack` in the JSON).
 */
export function formatFailure(
  thrown: unknown,
  options: { readonly json: boolean; readonly debug: boolean },
): { readonly text: string; readonly exitCode: 1 | 2 } {
  const error = toCodedError(thrown);
  // The thrown value's own stack: an E_INTERNAL made here would only show where it was made.
  const stack = options.debug ? stackOf(thrown) : undefined;
  const text = options.json
    ? `${JSON.stringify({ error: { code: error.code, message: error.message, ...(stack ? { stack } : {}) } })}\n`
    : `error ${error.message}\n${stack ? `${stack}\n` : ''}`;
  return { text, exitCode: USAGE_EXIT_CODES.has(error.code) ? 2 : 1 };
}
