import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seededRandom } from './fuzz';

/** What long commands print once training is under way (their progress lines). */
const MARKER = /^(step|explainer step| {2}\S.*: step) \d+\//m;

/** How one CLI process ended: its output, and whether the harness killed it. */
export interface CliRun {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number | null;
  readonly killed: boolean;
  readonly ms: number;
}

/** When to SIGKILL a run: this many ms after it starts, or after `marker` first shows on its stderr. */
export interface KillAt {
  readonly ms: number;
  readonly marker?: RegExp;
}

/** Runs a TypeScript entry point `SCRIPT ARGS` as a process (through tsx); with `kill`, SIGKILLs it then unless it ended first. */
export function runScript(
  script: string,
  args: readonly string[],
  env: Readonly<Record<string, string>>,
  kill?: KillAt,
): Promise<CliRun & { markerMs?: number }> {
  const started = performance.now();
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let killed = false;
  let timer: NodeJS.Timeout | undefined;
  let markerMs: number | undefined;
  const schedule = () =>
    (timer = setTimeout(() => {
      killed = child.kill('SIGKILL');
    }, kill!.ms));
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (markerMs === undefined && MARKER.test(stderr)) markerMs = performance.now() - started;
    if (kill?.marker && timer === undefined && kill.marker.test(stderr)) schedule();
  });
  if (kill && !kill.marker) schedule();
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      if (timer) clearTimeout(timer);
      resolve({
        stdout,
        stderr,
        code,
        killed: killed && code === null,
        ms: performance.now() - started,
        ...(markerMs === undefined ? {} : { markerMs }),
      });
    });
  });
}

export interface KillResumeOptions {
  /** The entry point run (a TypeScript file). */
  readonly script: string;
  /** Its arguments for a registry folder (and a run folder, in TRANSPLANT_RUNS_DIR). */
  readonly argv: (registry: string) => readonly string[];
  /** At least this many kills in all. */
  readonly kills: number;
  readonly seed: number;
  /** A fresh copy of the registry the command starts from. */
  readonly freshRegistry: () => Promise<string>;
  /** Checked after every kill, on the registry the killed run wrote into. */
  readonly afterKill: (registry: string, run: CliRun) => Promise<void>;
  /**
   * Kill points, alternately: uniform in [lo, hi] × the uninterrupted run's wall time (start-up,
   * training, publishing, reports), and uniform over what the uninterrupted run had left after
   * its first progress line, counted from the killed run's own first progress line (training
   * and after, where checkpoints are written and resumed).
   */
  readonly window?: readonly [number, number];
  readonly env?: Readonly<Record<string, string>>;
}

/** An uninterrupted run, and every run that finished after kills (each on its own registry copy). */
export interface KillResumeOutcome {
  readonly reference: CliRun & { readonly registry: string };
  readonly finished: (CliRun & {
    readonly registry: string;
    readonly killsBefore: number;
    /** What was left in the runs folder once the run had finished (a finished run removes its own). */
    readonly runFolders: string[];
  })[];
  readonly kills: number;
  /** Every "resuming … at step N" a run reported, as N. */
  readonly resumedAt: number[];
}

/**
 * Runs the entry point once without interruption, then again and again on fresh registry copies,
 * each run SIGKILLed at a seeded random point of the reference's wall time and started again
 * with the same run folder, until it finishes; episodes repeat until `kills` kills happened.
 * The caller compares every finished run with the reference.
 */
export async function killAndResume(options: KillResumeOptions): Promise<KillResumeOutcome> {
  const env = (runs: string) => ({
    TRANSPLANT_RUNS_DIR: runs,
    TRANSPLANT_CHECKPOINT_EVERY: '5',
    TRANSPLANT_THREADS: '1',
    ...options.env,
  });
  const { argv } = options;
  const run = (registry: string, runs: string, kill?: KillAt) =>
    runScript(options.script, argv(registry), env(runs), kill);
  const referenceRegistry = await options.freshRegistry();
  const referenceRuns = await runsDir();
  const reference = await run(referenceRegistry, referenceRuns);
  await rm(referenceRuns, { recursive: true, force: true });
  if (reference.code !== 0) throw new Error(`the uninterrupted run failed: ${reference.stderr}`);
  const uniform = seededRandom(options.seed);
  const [lo, hi] = options.window ?? [0.15, 0.95];
  const finished: KillResumeOutcome['finished'] = [];
  const resumedAt: number[] = [];
  let kills = 0;
  while (kills < options.kills) {
    const registry = await options.freshRegistry();
    const runs = await runsDir();
    let killsBefore = 0;
    const left = reference.ms - (reference.markerMs ?? reference.ms);
    for (;;) {
      const u = uniform();
      const kill: KillAt =
        kills % 2 === 0 || reference.markerMs === undefined || options.window
          ? { ms: (lo + (hi - lo) * u) * reference.ms }
          : { ms: u * left, marker: MARKER };
      const ended = await run(registry, runs, kill);
      for (const m of ended.stderr.matchAll(/resuming[^\n]*? at step (\d+)/g)) resumedAt.push(Number(m[1]));
      // A run killed after it printed its result had finished (only its exit was cut short).
      if (ended.killed && !printedResult(ended.stdout)) {
        kills++;
        killsBefore++;
        if (killsBefore > 40)
          throw new Error('40 kills in a row and the run never finished: it does not progress');
        await options.afterKill(registry, ended);
        continue;
      }
      if (ended.code !== 0 && !ended.killed)
        throw new Error(`a resumed run failed (exit ${ended.code}): ${ended.stderr}`);
      finished.push({ ...ended, registry, killsBefore, runFolders: await readdir(runs) });
      await rm(runs, { recursive: true, force: true });
      break;
    }
  }
  return { reference: { ...reference, registry: referenceRegistry }, finished, kills, resumedAt };
}

function printedResult(stdout: string): boolean {
  try {
    JSON.parse(stdout);
    return true;
  } catch {
    return false;
  }
}

const runsDir = () => mkdtemp(join(tmpdir(), 'transplant-runs-'));
