import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  realpathSync,
  lstatSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeMachine } from '@transplant/core';

/**
 * The CLI's start-up: wall time of `transplant --help`, `--version`, a command's help, `doctor`
 * and `registry list`, each in a fresh process, against bare Node start-up measured in the same
 * run (the floor), against loading every library the program imported up front before its
 * commands loaded them lazily (what `--help` cost then), and against the CLI run from its
 * TypeScript sources through tsx (`npm run transplant`). Also the size on disk of
 * what installing the CLI brings (its dependency closure), largest first. Goals (issue 23):
 * `--help` under 0.3 s, `doctor` under 1.5 s.
 */
export interface StartupBenchOptions {
  /** Runs of each case; the median is reported. */
  readonly repeats: number;
  /** Write tools/bench/results/startup.{json,md} (`--no-write`: print only). */
  readonly write: boolean;
}

export const STARTUP_BENCH_DEFAULTS: StartupBenchOptions = { repeats: 7, write: true };

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BIN = join(ROOT, 'packages/cli/bin/transplant.js');
const GOALS_MS: Readonly<Record<string, number>> = { '--help': 300, doctor: 1500 };

/** The modules the CLI's program imported at start-up before lazy loading (its commands' libraries). */
const EAGER = [
  'commander',
  '@transplant/core',
  '@transplant/platform',
  '@transplant/data',
  '@transplant/composer',
  '@transplant/registry',
  '@transplant/distill',
  '@transplant/explainer',
  '@transplant/explanatory-graph',
  '@transplant/interpretable',
  '@transplant/native',
  '@tensorflow/tfjs',
  '@tensorflow/tfjs-backend-wasm',
];

interface Case {
  readonly name: string;
  readonly command: readonly string[];
  readonly peer?: true;
}

const CASES: readonly Case[] = [
  { name: 'node (bare start-up)', command: ['-e', '0'], peer: true },
  {
    name: '--help from the sources (tsx)',
    command: [
      join(ROOT, 'node_modules/tsx/dist/cli.mjs'),
      '--conditions=@transplant/source',
      join(ROOT, 'packages/cli/src/main.ts'),
      '--help',
    ],
    peer: true,
  },
  {
    // What `transplant --help` loaded before commands loaded their libraries lazily: every
    // module the program imported at start-up (the same compiled packages).
    name: 'every library up front (--help before lazy loading)',
    command: [
      '--input-type=module',
      '-e',
      `await Promise.all(${JSON.stringify(EAGER)}.map((m) => import(m)));`,
    ],
    peer: true,
  },
  { name: '--help', command: [BIN, '--help'] },
  { name: '--version', command: [BIN, '--version'] },
  { name: 'transplant --help', command: [BIN, 'transplant', '--help'] },
  { name: 'doctor', command: [BIN, 'doctor'] },
  { name: 'registry list', command: [BIN, 'registry', 'list'] },
];

/** One run of `node …args` to its exit, in ms; a failed run is an error (a benchmark of an error is no benchmark). */
function timeOnce(args: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      if (code === 0) resolve(ms);
      else reject(new Error(`node ${args.join(' ')} exited ${code}: ${stderr.trim().split('\n')[0]}`));
    });
  });
}

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Bytes of the files under `dir` (links not followed), skipping `skip` folder names. */
function bytesUnder(dir: string, skip: ReadonlySet<string> = new Set()): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (skip.has(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += bytesUnder(path, skip);
    else if (entry.isFile()) total += lstatSync(path).size;
  }
  return total;
}

interface PackageJson {
  readonly name: string;
  readonly version: string;
  readonly dependencies?: Record<string, string>;
  readonly optionalDependencies?: Record<string, string>;
  readonly files?: readonly string[];
}

/** The folder of package `name` as Node finds it from `from`: the nearest node_modules/name upwards. */
function packageDir(name: string, from: string): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return realpathSync(candidate);
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * What installing `root` brings: every package of its production dependency closure (optional
 * ones where installed), with its size on disk. A workspace package counts what it publishes
 * (its `files`); a third-party one its folder, without the node_modules nested in it (those are
 * packages of the closure too).
 */
export function installedClosure(root: string): { name: string; bytes: number }[] {
  const seen = new Map<string, number>();
  const visit = (dir: string) => {
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PackageJson;
    const key = `${pkg.name}@${pkg.version}`;
    if (seen.has(key)) return;
    const workspace = !dir.split('/').includes('node_modules');
    const skip = new Set(['node_modules', '.git']);
    const bytes = workspace
      ? (pkg.files ?? []).reduce(
          (sum, f) => sum + (existsSync(join(dir, f)) ? bytesUnder(join(dir, f), skip) : 0),
          lstatSync(join(dir, 'package.json')).size,
        )
      : bytesUnder(dir, skip);
    seen.set(key, bytes);
    for (const name of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })) {
      const found = packageDir(name, dir);
      if (found) visit(found);
    }
  };
  visit(root);
  return [...seen].map(([name, bytes]) => ({ name, bytes })).sort((a, b) => b.bytes - a.bytes);
}

export async function runStartupBench(options: Partial<StartupBenchOptions> = {}): Promise<void> {
  const values = { ...STARTUP_BENCH_DEFAULTS, ...options };
  const repeats = Number(values.repeats);
  if (!existsSync(join(ROOT, 'packages/cli/dist/main.js')))
    throw new Error('packages/cli/dist is missing: run `npm run build` first');
  // The compiled CLI as a user runs it: no source condition, no forced back end or registry.
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of ['NODE_OPTIONS', 'TRANSPLANT_BACKEND', 'TRANSPLANT_REGISTRY']) delete env[key];
  const samples = new Map<string, number[]>(CASES.map((c) => [c.name, []]));
  // Round robin, one warm-up round first (the file cache), so that a slow moment hits every case alike.
  for (let round = -1; round < repeats; round++) {
    for (const c of CASES) {
      const ms = await timeOnce(c.command, env);
      if (round >= 0) samples.get(c.name)!.push(ms);
    }
    process.stderr.write(`startup: round ${round + 1}/${repeats}\n`);
  }
  const floor = median(samples.get(CASES[0]!.name)!);
  const rows = CASES.map((c) => {
    const ms = median(samples.get(c.name)!);
    const goal = GOALS_MS[c.name];
    return {
      case: c.name,
      ...(c.peer ? { peer: true } : {}),
      medianMs: Math.round(ms),
      minMs: Math.round(Math.min(...samples.get(c.name)!)),
      maxMs: Math.round(Math.max(...samples.get(c.name)!)),
      ratioToBareNode: Number((ms / floor).toFixed(2)),
      ...(goal === undefined ? {} : { goalMs: goal, meetsGoal: ms < goal }),
    };
  });
  const closure = installedClosure(join(ROOT, 'packages/cli'));
  const totalBytes = closure.reduce((sum, p) => sum + p.bytes, 0);
  const result = {
    measuredAt: new Date().toISOString(),
    machine: describeMachine(),
    node: process.version,
    repeats,
    rows,
    installed: {
      packages: closure.length,
      totalMiB: Number((totalBytes / 2 ** 20).toFixed(1)),
      largest: closure
        .slice(0, 10)
        .map((p) => ({ name: p.name, MiB: Number((p.bytes / 2 ** 20).toFixed(1)) })),
    },
  };
  const table = [
    '| case | median (ms) | min–max (ms) | × bare node | goal |',
    '|---|---:|---:|---:|---|',
    ...rows.map(
      (r) =>
        `| ${r.case}${r.peer ? ' (peer)' : ''} | ${r.medianMs} | ${r.minMs}–${r.maxMs} | ${r.ratioToBareNode} | ${'goalMs' in r ? `< ${r.goalMs} ms: ${r.meetsGoal ? 'met' : 'missed'}` : ''} |`,
    ),
  ].join('\n');
  const sizes = [
    `Installing the CLI brings ${closure.length} packages, ${result.installed.totalMiB} MiB on disk; the largest:`,
    '',
    '| package | MiB |',
    '|---|---:|',
    ...result.installed.largest.map((p) => `| ${p.name} | ${p.MiB} |`),
  ].join('\n');
  process.stdout.write(`${table}\n\n${sizes}\n`);
  if (values.write) {
    const dir = fileURLToPath(new URL('../results', import.meta.url));
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'startup.json'), `${JSON.stringify(result, null, 2)}\n`);
    writeFileSync(
      join(dir, 'startup.md'),
      `# CLI start-up\n\nMeasured ${result.measuredAt} on ${result.machine.cpu} (${result.machine.threads} threads), node ${result.node}: the median of ${repeats} fresh processes per case, run round robin (\`nx run bench:startup\`). The peers, measured in the same run: bare Node start-up, every library the program imported up front before lazy loading (what \`--help\` cost then), and the CLI run from its TypeScript sources through tsx.\n\n${table}\n\n${sizes}\n`,
    );
  }
}
