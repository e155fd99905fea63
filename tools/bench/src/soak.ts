import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeMachine } from '@transplant/core';
import {
  SOAK_PHASES,
  runSoakPhase,
  type PhaseRun,
  type SoakPhase,
  type SoakPhaseSettings,
} from './soak-phases';
import {
  SOAK_GOAL,
  downsample,
  judge,
  soakChart,
  soakMarkdown,
  type SoakFile,
  type SoakPhaseResult,
} from './soak-report';

/**
 * `nx run bench:soak` (issue 24 item 6, "memory stays flat"): a soak benchmark, not a timed
 * test. It runs a long transplant, a long explanation and a graph mining (soak-phases.ts), each
 * in a fresh child process by default, so that every phase's RSS starts from the same bare
 * Node + TensorFlow.js baseline and no phase's heap or allocator state is blamed on the next;
 * samples the tensor count and the process memory from the phases' progress callbacks; and
 * judges each phase against the goal (soak-report.ts). tools/bench/results/soak.{json,md,svg}
 * are rewritten after every phase, so a run cut short keeps what finished, and `--phases`
 * reruns some phases while keeping the others' results.
 */
/** Options of `nx run bench:soak` (its schema.json holds the same names, types and defaults). */
export interface SoakOptions extends SoakPhaseSettings {
  /** Comma-separated phases, run one after another: transplant, explain, graph. */
  readonly phases: string;
  /** Each phase in a fresh child process (`--no-isolate`: all in this process, one after another). */
  readonly isolate: boolean;
  /** Samples kept per phase in soak.json (the verdict uses all of them). */
  readonly keep: number;
  /** Results folder: soak.json, soak.md and soak.svg go here. */
  readonly results: string;
}

export const SOAK_DEFAULTS: SoakOptions = {
  phases: SOAK_PHASES.join(','),
  steps: 5000,
  from: 'bird-cls',
  to: 'cat-seg',
  net: 'bird-cls',
  images: 5000,
  chunk: 50,
  explainerSteps: 300,
  pool: 400,
  mineImages: 1000,
  iterations: 20,
  isolate: true,
  keep: 200,
  results: fileURLToPath(new URL('../results', import.meta.url)),
};

const CHILD = fileURLToPath(new URL('./soak-child.ts', import.meta.url));
const TITLE = 'Soak: memory over long runs';
const GOAL_TEXT =
  'no growth after warm-up (the first 10 % of each run): the tensor count constant, and RSS at the end within 10 % of RSS at 10 % of the run.';

const log = (line: string) => process.stderr.write(`${line}\n`);

/** The nx command line of these options (the ones that differ from the defaults), with the environment that matters. */
export function soakCommand(options: SoakOptions, env: NodeJS.ProcessEnv = process.env): string {
  const flags = (Object.keys(SOAK_DEFAULTS) as (keyof SoakOptions)[])
    .filter((k) => k !== 'results' && options[k] !== SOAK_DEFAULTS[k])
    .map((k) => {
      const name = k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
      return typeof options[k] === 'boolean'
        ? options[k]
          ? `--${name}`
          : `--no-${name}`
        : `--${name}=${String(options[k])}`;
    });
  const vars = ['TRANSPLANT_THREADS', 'TRANSPLANT_BACKEND']
    .filter((v) => env[v] !== undefined)
    .map((v) => `${v}=${env[v]}`);
  return [...vars, 'npx nx run bench:soak', ...flags].join(' ');
}

/** Runs one phase in a fresh `node --import tsx` process; its result comes back through a file. */
async function isolated(phase: SoakPhase, settings: SoakPhaseSettings): Promise<PhaseRun> {
  const dir = await mkdtemp(join(tmpdir(), 'transplant-soak-'));
  const out = join(dir, 'phase.json');
  try {
    const code = await new Promise<number | null>((done, fail) => {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', CHILD, phase, JSON.stringify(settings), out],
        {
          stdio: ['ignore', 'inherit', 'inherit'],
          env: process.env,
        },
      );
      child.on('error', fail);
      child.on('exit', (c) => done(c));
    });
    if (code !== 0 || !existsSync(out)) throw new Error(`the ${phase} phase's process exited with ${code}`);
    return JSON.parse(await readFile(out, 'utf8')) as PhaseRun;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Reads the results folder's soak.json, if any, for the phases this run does not redo. */
function previous(file: string): SoakFile | undefined {
  if (!existsSync(file)) return undefined;
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as SoakFile;
    return Array.isArray(parsed.phases) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** Writes soak.json, soak.md and soak.svg with these phases (in the canonical order). */
function write(dir: string, file: Omit<SoakFile, 'phases'>, phases: readonly SoakPhaseResult[]): SoakFile {
  const order = (p: SoakPhaseResult) => SOAK_PHASES.indexOf(p.phase as SoakPhase);
  const sorted = [...phases].sort((a, b) => order(a) - order(b));
  const soak: SoakFile = { ...file, phases: sorted };
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'soak.json'), `${JSON.stringify(soak, null, 2)}\n`);
  const chart = sorted.length ? soakChart(sorted, SOAK_GOAL) : undefined;
  if (chart) writeFileSync(join(dir, 'soak.svg'), chart);
  writeFileSync(join(dir, 'soak.md'), soakMarkdown(soak, chart));
  return soak;
}

export async function runSoak(options: Partial<SoakOptions> = {}): Promise<SoakFile> {
  const values = { ...SOAK_DEFAULTS, ...options };
  const numbers = (
    ['steps', 'images', 'chunk', 'explainerSteps', 'pool', 'mineImages', 'iterations'] as const
  ).map((k) => [k, Number(values[k])] as const);
  for (const [k, v] of numbers)
    if (!Number.isInteger(v) || v < 1) throw new Error(`--${k} must be a whole number ≥ 1; got ${values[k]}`);
  const settings: SoakPhaseSettings = {
    ...(Object.fromEntries(numbers) as Pick<SoakPhaseSettings, (typeof numbers)[number][0]>),
    from: values.from,
    to: values.to,
    net: values.net,
  };
  const phases = values.phases.split(',').filter(Boolean);
  for (const p of phases)
    if (!SOAK_PHASES.includes(p as SoakPhase))
      throw new Error(`unknown soak phase ${p}; known: ${SOAK_PHASES.join(', ')}`);
  const dir = resolve(values.results);
  const header = {
    title: TITLE,
    goal: { ...SOAK_GOAL, text: GOAL_TEXT },
    command: soakCommand(values),
    machine: {
      ...describeMachine(),
      transplantThreads: process.env['TRANSPLANT_THREADS'] ?? null,
      platform: `${process.platform} ${process.arch}`,
    },
  };
  const kept = (previous(join(dir, 'soak.json'))?.phases ?? []).filter((p) => !phases.includes(p.phase));
  const done: SoakPhaseResult[] = [...kept];
  let soak = write(dir, { ...header, updatedAt: new Date().toISOString() }, done);
  for (const phase of phases as SoakPhase[]) {
    log(`[soak] ${phase}${values.isolate ? ' (fresh process)' : ''}…`);
    const measuredAt = new Date().toISOString();
    const run = values.isolate ? await isolated(phase, settings) : await runSoakPhase(phase, settings);
    const verdict = judge(run.samples, run.total, SOAK_GOAL);
    const { samples, ...rest } = run;
    done.push({
      phase,
      ...rest,
      measuredAt,
      verdict,
      samplesTaken: samples.length,
      samples: downsample(samples, Number(values.keep), [verdict.warmupDone]),
      process: values.isolate ? 'isolated' : 'shared',
    });
    soak = write(dir, { ...header, updatedAt: new Date().toISOString() }, done);
    const v = verdict;
    log(
      `[soak] ${phase}: tensors ${v.tensors.min}…${v.tensors.max} after warm-up; RSS ${(v.rss.atWarmup / 2 ** 20).toFixed(1)} → ${(v.rss.end / 2 ** 20).toFixed(1)} MiB (×${v.rss.ratio.toFixed(3)}): ${v.pass ? 'pass' : `FAIL (${v.failures.join('; ')})`}`,
    );
  }
  process.stdout.write(`${soakMarkdown(soak, undefined)}`);
  log(`wrote ${join(dir, 'soak.json')}, soak.md and soak.svg`);
  return soak;
}
