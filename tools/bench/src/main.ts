import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { describeMachine, formatMachine } from '@transplant/core';
import { fileURLToPath } from 'node:url';
import { createPlatform } from '@transplant/platform';
import { BENCH_CASES, stepFlops } from './cases';
import { formatCaseReport, type CaseReport } from './report';
import { medianPeerRound, medianRound } from './rounds';
import { timeTfjsCase, type TfjsTiming } from './tfjs-runner';
import { runTorchPeer, type PeerResult } from './torch-peer';

const RESULTS = fileURLToPath(new URL('../results', import.meta.url));

/** Options of `nx run bench:bench` (its schema.json holds the same names, types and defaults). */
export interface BenchOptions {
  /** Comma-separated back ends (default: the case's own, `BenchCase.defaults`). */
  readonly backends: string | undefined;
  /** Comma-separated case ids. */
  readonly cases: string;
  // Warm-up steps, timed steps and rounds: each case has its own defaults (`BenchCase.defaults`
  // in cases.ts: 100 + 50 × 3 for the small cases, 5 + 10 × 3 for MobileNetV2); these override.
  // The machine is a shared VM whose speed drifts by tens of percent within minutes: every
  // runner is timed once per round, rounds interleave the runners, and the median round counts.
  readonly warmup: number | undefined;
  readonly steps: number | undefined;
  readonly rounds: number | undefined;
  /** Comma-separated PyTorch thread counts. */
  readonly peerThreads: string;
  /** Time the PyTorch peer (`--no-peer`: ours only). */
  readonly peer: boolean;
  /** Write tools/bench/results/<case>.json (`--no-write`: print only). */
  readonly write: boolean;
}

export const BENCH_DEFAULTS: BenchOptions = {
  backends: undefined,
  cases: BENCH_CASES.map((c) => c.id).join(','),
  warmup: undefined,
  steps: undefined,
  rounds: undefined,
  peerThreads: [...new Set([1, availableParallelism()])].join(','),
  peer: true,
  write: true,
};

export async function runBench(options: Partial<BenchOptions> = {}): Promise<void> {
  const values = { ...BENCH_DEFAULTS, ...options };
  // The composition root of this run: one container.
  const platform = createPlatform(process.env);

  const log = (line: string) => process.stderr.write(`${line}\n`);

  async function main(): Promise<void> {
    const reports: CaseReport[] = [];
    for (const id of values.cases.split(',')) {
      const c = BENCH_CASES.find((k) => k.id === id);
      if (!c) throw new Error(`unknown case ${id}; known: ${BENCH_CASES.map((k) => k.id).join(', ')}`);
      const warmup = Number(values.warmup ?? c.defaults.warmup);
      const steps = Number(values.steps ?? c.defaults.steps);
      const rounds = Number(values.rounds ?? c.defaults.rounds);
      const backends = (values.backends ?? c.defaults.backends).split(',');
      const ourRounds = new Map<string, TfjsTiming[]>();
      const peerRounds = new Map<number, PeerResult[]>();
      for (let round = 1; round <= rounds; round++) {
        for (const backend of backends) {
          const selection = await platform.backendSelector.select({ requested: backend, env: process.env });
          log(
            `[${c.id}] round ${round}/${rounds}: tfjs ${selection.id}, ${warmup} warm-up + ${steps} timed steps…`,
          );
          const timing = await timeTfjsCase(c, { warmup, steps });
          log(
            `[${c.id}] round ${round}/${rounds}: tfjs ${selection.id}: ${timing.medianMs.toFixed(1)} ms median`,
          );
          ourRounds.set(selection.id, [...(ourRounds.get(selection.id) ?? []), timing]);
        }
        if (values.peer) {
          for (const threads of values.peerThreads.split(',').map(Number)) {
            log(`[${c.id}] round ${round}/${rounds}: PyTorch, ${threads} thread(s)…`);
            peerRounds.set(threads, [
              ...(peerRounds.get(threads) ?? []),
              await runTorchPeer(c, { threads, warmup, steps }),
            ]);
          }
        }
      }
      const ours = [...ourRounds].map(([backend, timings]) => {
        const timing = medianRound(timings);
        return { backend, timing, leaked: Math.max(...timings.map((t) => t.leaked)) };
      });
      const peers = [...peerRounds].map(([threads, results]) => ({ threads, ...medianPeerRound(results) }));
      reports.push({
        caseId: c.id,
        description: c.description,
        gflop: stepFlops(c) / 1e9,
        run: { warmup, steps, rounds },
        ours,
        peers,
      });
    }

    const machine = {
      ...describeMachine(),
    };
    const text = reports.map(formatCaseReport).join('\n\n');
    process.stdout.write(
      `${text}\n\n(${formatMachine(machine)}; per runner the median of its interleaved rounds, each case's run as stated under it)\n`,
    );
    if (values.write) {
      mkdirSync(RESULTS, { recursive: true });
      for (const r of reports) {
        const file = `${RESULTS}/${r.caseId}.json`;
        const { run, ...rest } = r;
        writeFileSync(
          file,
          `${JSON.stringify({ measuredAt: new Date().toISOString(), machine, ...run, ...rest }, null, 2)}\n`,
        );
        log(`wrote ${file}`);
      }
    }
  }

  // A failure is thrown to the executor, which prints its message only (see run-tool.ts).
  await main();
}
