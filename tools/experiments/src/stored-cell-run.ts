import { readFile } from 'node:fs/promises';

/** What a per-category-and-seed run file holds that decides whether it can be reused. */
export interface StoredCellRun {
  /** The network it was made from, `name@version`. */
  readonly network: string;
  /** Its settings; `seedNames` (derived from the seed) is not compared. */
  readonly settings: { readonly seedNames?: unknown };
  /** Final-test numbers, after a final run. */
  readonly final?: unknown;
}

/**
 * The stored run of one category and seed of the graph and AOG experiments: usable when it was
 * made from the same network version with the same settings (a stale one is logged and run
 * again); `done` when nothing is left to run for it (not `redo`, and final numbers if the run
 * is final).
 */
export async function storedCellRun<R extends StoredCellRun>(
  file: string,
  expected: { readonly network: string; readonly settings: object },
  options: {
    readonly redo: boolean;
    readonly final: boolean;
    readonly label: string;
    readonly log: (line: string) => void;
  },
): Promise<{ readonly usable: R | undefined; readonly done: boolean }> {
  const stored = await readFile(file, 'utf8').then(
    (t) => JSON.parse(t) as R,
    () => undefined,
  );
  const { seedNames: _names, ...storedSettings } = stored?.settings ?? { seedNames: null };
  const usable =
    stored &&
    stored.network === expected.network &&
    JSON.stringify(storedSettings) === JSON.stringify(expected.settings)
      ? stored
      : undefined;
  if (stored && !usable) options.log(`${options.label}: ${file} is stale (network or settings): run again`);
  const done = !options.redo && usable !== undefined && (!options.final || usable.final !== undefined);
  if (done) options.log(`${options.label}: done already (${file})`);
  return { usable, done };
}
