import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { selectBackend } from '@transplant/core';
import { BENCH_CASES, stepFlops } from './cases';
import { formatCaseReport, type CaseReport } from './report';
import { medianPeerRound, medianRound } from './rounds';
import { timeTfjsCase, type TfjsTiming } from './tfjs-runner';
import { runTorchPeer, type PeerResult } from './torch-peer';

const RESULTS = fileURLToPath(new URL('../results', import.meta.url));

const { values } = parseArgs({
  options: {
    backends: { type: 'string', default: 'wasm+onednn,wasm' },
    cases: { type: 'string', default: BENCH_CASES.map((c) => c.id).join(',') },
    // V8 keeps compiling tfjs's JavaScript through the first ~100 steps of a process (the small-CNN
    // step measured 26 ms median over steps 4–18 and 11 ms after step 100), so both sides get 100
    // warm-up steps and the steady state is compared; the warm-up median is reported beside it.
    warmup: { type: 'string', default: '100' },
    steps: { type: 'string', default: '50' },
    // The machine is a shared VM whose speed drifts by tens of percent within minutes: every
    // runner is timed once per round, rounds interleave the runners, and the median round counts.
    rounds: { type: 'string', default: '3' },
    'peer-threads': { type: 'string', default: [...new Set([1, availableParallelism()])].join(',') },
    'no-peer': { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
  },
});

const warmup = Number(values.warmup);
const steps = Number(values.steps);
const rounds = Number(values.rounds);
const log = (line: string) => process.stderr.write(`${line}\n`);

async function main(): Promise<void> {
  const reports: CaseReport[] = [];
  for (const id of values.cases.split(',')) {
    const c = BENCH_CASES.find((k) => k.id === id);
    if (!c) throw new Error(`unknown case ${id}; known: ${BENCH_CASES.map((k) => k.id).join(', ')}`);
    const ourRounds = new Map<string, TfjsTiming[]>();
    const peerRounds = new Map<number, PeerResult[]>();
    for (let round = 1; round <= rounds; round++) {
      for (const backend of values.backends.split(',')) {
        const selection = await selectBackend({ requested: backend });
        log(
          `[${c.id}] round ${round}/${rounds}: tfjs ${selection.id}, ${warmup} warm-up + ${steps} timed steps…`,
        );
        const timing = await timeTfjsCase(c, { warmup, steps });
        log(
          `[${c.id}] round ${round}/${rounds}: tfjs ${selection.id}: ${timing.medianMs.toFixed(1)} ms median`,
        );
        ourRounds.set(selection.id, [...(ourRounds.get(selection.id) ?? []), timing]);
      }
      if (!values['no-peer']) {
        for (const threads of values['peer-threads'].split(',').map(Number)) {
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
    reports.push({ caseId: c.id, description: c.description, gflop: stepFlops(c) / 1e9, ours, peers });
  }

  const machine = {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: availableParallelism(),
    node: process.version,
  };
  const text = reports.map(formatCaseReport).join('\n\n');
  process.stdout.write(
    `${text}\n\n(${machine.cpu}, ${machine.cores} cores, node ${machine.node}; per runner the median of ${rounds} interleaved rounds of ${steps} timed steps after ${warmup} warm-up)\n`,
  );
  if (!values['no-write']) {
    mkdirSync(RESULTS, { recursive: true });
    for (const r of reports) {
      const file = `${RESULTS}/${r.caseId}.json`;
      writeFileSync(
        file,
        `${JSON.stringify({ measuredAt: new Date().toISOString(), machine, warmup, steps, rounds, ...r }, null, 2)}\n`,
      );
      log(`wrote ${file}`);
    }
  }
}

try {
  await main();
} catch (error) {
  // Print the message only: the wasm runtime's exception hook would print its whole minified source.
  process.stderr.write(`bench failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
