import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { BACKEND_ORDER, TransplantError, isBackendId } from '@transplant/core/options';

/** A usage error of the command `operation` (exit code 2, hint: run the command with --help). */
export const usage = (message: string, operation: string): TransplantError =>
  new TransplantError('E_USAGE', message, { operation });

/**
 * A command-line integer option, at least `min`; E_USAGE otherwise (an empty value, and one past
 * 2^53 − 1 that a double cannot hold exactly, included).
 */
export function integer(value: string, name: string, min: number, operation = 'transplant'): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isSafeInteger(n) || n < min)
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

/** Longest version a command publishes (as long as a module name may be). */
export const VERSION_MAX_LENGTH = 64;

/**
 * A command-line exact version (`1.2.0`, `1.0.0-rc.1`): semver with every number below 2^53 and
 * at most {@link VERSION_MAX_LENGTH} characters; E_USAGE otherwise.
 */
export async function exactVersion(value: string, name: string, operation: string): Promise<string> {
  // semver loads when a command checks a version, not at start-up.
  const { isExactVersion } = await import('@transplant/core/refs');
  if (!isExactVersion(value) || value.length > VERSION_MAX_LENGTH)
    throw usage(
      `--${name} "${value.length > 40 ? `${value.slice(0, 39)}…` : value}" must be one semver version, e.g. 1.0.0, of at most ${VERSION_MAX_LENGTH} characters`,
      operation,
    );
  return value;
}

/** A command-line number option ≥ 0 (a weight), finite; E_USAGE otherwise. */
export function nonNegative(value: string, name: string, operation: string): number {
  const w = Number(value);
  if (value.trim() === '' || !Number.isFinite(w) || !(w >= 0))
    throw usage(`--${name} must be a number ≥ 0 and finite, not "${value}"`, operation);
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

/** What a path's nearest existing part is: the path itself, or the first ancestor that exists. */
function nearestExisting(path: string): { path: string; directory: boolean } | undefined {
  for (let p = resolve(path); ; p = dirname(p)) {
    try {
      return { path: p, directory: statSync(p).isDirectory() };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(p) === p) return undefined;
    }
  }
}

/**
 * Checks, before any work, that a command can write `path` as a `file` or a `dir`: not an
 * existing folder where a file goes (or a file where a folder goes), and not below a file; E_USAGE
 * otherwise. (Whether it may be written is left to the write: permissions can change meanwhile.)
 */
export function writablePath(path: string, name: string, what: 'file' | 'dir', operation: string): void {
  const found = nearestExisting(path);
  const target = resolve(path);
  if (found === undefined)
    throw usage(
      `--${name} ${path}: no part of the path can be inspected; name a ${what} in a folder`,
      operation,
    );
  if (found.path === target) {
    if (what === 'file' && found.directory)
      throw usage(`--${name} ${path} is a folder; name the file to write`, operation);
    if (what === 'dir' && !found.directory)
      throw usage(`--${name} ${path} is a file; name a folder (it is made when missing)`, operation);
    return;
  }
  if (!found.directory)
    throw usage(`--${name} ${path} cannot be made: ${found.path} is a file, not a folder`, operation);
}

/**
 * The options through which commands write files or folders, by command path: checked by
 * {@link checkOptionValues} before the command runs, so that a path that can never be written
 * fails before the work, not after it.
 */
export const OUTPUT_OPTIONS: Readonly<Record<string, Readonly<Record<string, 'file' | 'dir'>>>> = {
  'registry resolve': { lockfile: 'file' },
  import: { out: 'dir' },
  transplant: { reports: 'dir' },
  'generic show': { png: 'file' },
  'generic run': { out: 'file' },
  'interpret metrics': { png: 'file' },
  'graph mine': { out: 'file', html: 'dir' },
  'graph nodes': { png: 'file' },
  'graph localize': { png: 'file' },
  'aog learn': { out: 'file', html: 'dir' },
  'aog localize': { png: 'file' },
  explain: { out: 'dir' },
  visualize: { out: 'dir' },
  predict: { out: 'file' },
  export: { out: 'dir' },
  'data preview': { out: 'file' },
  'data inspect': { out: 'file' },
};

/**
 * The options that name images a command reads, by command path: {@link checkOptionValues}
 * decodes them (an oversized one is refused from its header) before the command runs, so that a
 * missing, broken or oversized image fails before the work, not after it.
 */
export const IMAGE_OPTIONS: Readonly<Record<string, readonly string[]>> = {
  predict: ['image'],
  'generic run': ['image'],
  explain: ['image'],
  import: ['checkImage'],
};

/** A command's path below the program, e.g. `graph mine`. */
export function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/**
 * Checks the option values of the command about to run (and the program's own), before its
 * action: no option given an empty value (`--out=` is never meant), a known `--backend`, every
 * path in {@link OUTPUT_OPTIONS} one that can be written (E_USAGE otherwise, naming the option)
 * and every image in {@link IMAGE_OPTIONS} one that decodes (E_IMAGE_UNREADABLE).
 */
export async function checkOptionValues(command: Command): Promise<void> {
  const operation = commandPath(command) || 'transplant';
  for (let c: Command | null = command; c; c = c.parent) {
    for (const option of c.options) {
      const value: unknown = c.getOptionValue(option.attributeName());
      const values = Array.isArray(value) ? value : [value];
      if (
        values.some((v) => typeof v === 'string' && v.trim() === '') &&
        c.getOptionValueSource(option.attributeName()) !== 'default'
      )
        throw usage(`${option.long ?? option.flags} needs a value, not an empty one`, operation);
    }
  }
  let program: Command = command;
  while (program.parent) program = program.parent;
  const backend: unknown = program.getOptionValue('backend');
  if (typeof backend === 'string' && !isBackendId(backend))
    throw new TransplantError(
      'E_BACKEND_UNKNOWN',
      `--backend "${backend}" is not a back end; use one of ${BACKEND_ORDER.join(', ')}`,
      { operation },
    );
  for (const [name, what] of Object.entries(OUTPUT_OPTIONS[operation] ?? {})) {
    const value: unknown = command.getOptionValue(name);
    if (typeof value === 'string')
      writablePath(
        value,
        name.replace(/[A-Z]/g, (l) => `-${l.toLowerCase()}`),
        what,
        operation,
      );
  }
  const images = (IMAGE_OPTIONS[operation] ?? [])
    .flatMap((name) => [command.getOptionValue(name) as unknown].flat())
    .filter((image): image is string => typeof image === 'string');
  if (images.length === 0) return;
  // The image codec loads only for a command that reads images (start-up stays light).
  const { decodeImage } = await import('@transplant/data');
  for (const image of images) await decodeImage(resolve(image), image);
}

/**
 * A comma-separated list option (`--layers a,b`): its names, blanks dropped; E_USAGE when it
 * names nothing (`--layers ,,`), since an empty list is never what was meant.
 */
export function nameList(value: string, name: string, operation: string): string[] {
  const names = value
    .split(',')
    .map((n) => n.trim())
    .filter(Boolean);
  if (names.length === 0) throw usage(`--${name} "${value}" names nothing; give NAME,NAME,…`, operation);
  return names;
}
