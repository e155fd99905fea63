import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { RunFolder } from '@transplant/core';
import { TransplantError } from '@transplant/core/options';
import { resolveRegistryLocation } from '@transplant/platform/options';
import type { CommandContext } from './command-context';

/** Steps between two checkpoints of a long run's training loops (env TRANSPLANT_CHECKPOINT_EVERY). */
export const DEFAULT_CHECKPOINT_EVERY = 25;

function checkpointEvery(env: CommandContext['env']): number {
  const text = env['TRANSPLANT_CHECKPOINT_EVERY'];
  if (text === undefined || text === '') return DEFAULT_CHECKPOINT_EVERY;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1)
    throw new TransplantError(
      'E_INVALID_ARGUMENT',
      `TRANSPLANT_CHECKPOINT_EVERY must be an integer ≥ 1, not "${text}"`,
      { operation: 'checkpoint' },
    );
  return n;
}

/**
 * Where long runs keep their checkpoints: TRANSPLANT_RUNS_DIR, else the XDG state folder
 * (`$XDG_STATE_HOME/transplant/runs`, `~/.local/state/transplant/runs` without it).
 */
export function runsRoot(env: CommandContext['env']): string {
  if (env['TRANSPLANT_RUNS_DIR']) return env['TRANSPLANT_RUNS_DIR'];
  // A program given an environment of its own (the tests, an embedding host) still keeps its
  // runs where the process was told to, not in the user's home.
  if (process.env['TRANSPLANT_RUNS_DIR']) return process.env['TRANSPLANT_RUNS_DIR'];
  const state = env['XDG_STATE_HOME'] || join(env['HOME'] || homedir(), '.local', 'state');
  return join(state, 'transplant', 'runs');
}

/** Adds `--restart` to a command that resumes. */
export function resumableOptions(command: Command): Command {
  return command.option(
    '--restart',
    'start over instead of resuming a run of this same command that was killed (its checkpoint is in TRANSPLANT_RUNS_DIR, default ~/.local/state/transplant/runs)',
  );
}

/**
 * Runs a long command in its run folder: the same command line on the same registry and back
 * end finds the folder a killed run left and resumes from it; a failed run keeps it (the rerun
 * resumes) and lets its lock go. A finished run prints its result (`done`) and only then
 * removes the folder: a run killed before its output was printed is resumed to the same result
 * (what it published is adopted), not started again.
 */
export async function withRunFolder<T>(
  ctx: CommandContext,
  job: {
    readonly command: string;
    /** The options that decide the result (not where reports go). */
    readonly inputs: Record<string, unknown>;
    readonly restart?: boolean;
    readonly backend: string;
  },
  work: (run: RunFolder) => Promise<T>,
  done: (result: T) => void,
): Promise<void> {
  const every = checkpointEvery(ctx.env);
  const { RunFolder, sha256Digest } = await import('@transplant/core');
  const registry = resolveRegistryLocation(ctx.globals().registry, ctx.env).location;
  // What decides the result besides the options: the code, the registry, the back end and its threads.
  const identity = JSON.stringify({
    command: job.command,
    inputs: job.inputs,
    registry,
    backend: job.backend,
    threads: ctx.env['TRANSPLANT_THREADS'] ?? null,
    code: ctx.services().generatedBy,
  });
  const key = `${job.command}-${sha256Digest(new TextEncoder().encode(identity)).slice(7, 23)}`;
  const run = RunFolder.open(runsRoot(ctx.env), key, {
    every,
    note: (line) => ctx.err(`${line}\n`),
    ...(job.restart ? { restart: true } : {}),
  });
  let result: T;
  try {
    result = await work(run);
  } catch (error) {
    try {
      run.release();
    } catch {
      // the error that stopped the run is the one to report
    }
    throw error;
  }
  done(result);
  run.remove();
}
