import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { selectBackend } from '@transplant/core';
import { BENCH_CASES, stepFlops } from './cases';
import { formatCaseReport, type CaseReport } from './report';
import { timeTfjsCase } from './tfjs-runner';
import { runTorchPeer } from './torch-peer';

const RESULTS = fileURLToPath(new URL('../results', import.meta.url));

const { values } = parseArgs({
  options: {
    backends: { type: 'string', default: 'wasm+onednn,wasm' },
    cases: { type: 'string', default: BENCH_CASES.map((c) => c.id).join(',') },
    warmup: { type: 'string', default: '3' },
    steps: { type: 'string', default: '15' },
    'peer-threads': { type: 'string', default: [...new Set([1, availableParallelism()])].join(',') },
    'no-peer': { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
  },
});

const warmup = Number(values.warmup);
const steps = Number(values.steps);
const log = (line: string) => process.stderr.write(`${line}\n`);

async function main(): Promise<void> {
  const reports: CaseReport[] = [];
  for (const id of values.cases.split(',')) {
    const c = BENCH_CASES.find((k) => k.id === id);
    if (!c) throw new Error(`unknown case ${id}; known: ${BENCH_CASES.map((k) => k.id).join(', ')}`);
    const ours: CaseReport['ours'][number][] = [];
    for (const backend of values.backends.split(',')) {
      const selection = await selectBackend({ requested: backend });
      log(`[${c.id}] tfjs ${selection.id}: ${warmup} warm-up + ${steps} timed steps…`);
      const timing = await timeTfjsCase(c, { warmup, steps });
      log(`[${c.id}] tfjs ${selection.id}: ${timing.medianMs.toFixed(1)} ms median`);
      ours.push({ backend: selection.id, timing, leaked: timing.leaked });
    }
    const peers: CaseReport['peers'][number][] = [];
    if (!values['no-peer']) {
      for (const threads of values['peer-threads'].split(',').map(Number)) {
        log(`[${c.id}] PyTorch, ${threads} thread(s)…`);
        peers.push({ threads, ...(await runTorchPeer(c, { threads, warmup, steps })) });
      }
    }
    reports.push({ caseId: c.id, description: c.description, gflop: stepFlops(c) / 1e9, ours, peers });
  }

  const machine = { cpu: cpus()[0]?.model ?? 'unknown', cores: availableParallelism(), node: process.version };
  const text = reports.map(formatCaseReport).join('\n\n');
  process.stdout.write(`${text}\n\n(${machine.cpu}, ${machine.cores} cores, node ${machine.node}; ${steps} timed steps after ${warmup} warm-up)\n`);
  if (!values['no-write']) {
    mkdirSync(RESULTS, { recursive: true });
    for (const r of reports) {
      const file = `${RESULTS}/${r.caseId}.json`;
      writeFileSync(file, `${JSON.stringify({ measuredAt: new Date().toISOString(), machine, warmup, steps, ...r }, null, 2)}\n`);
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
