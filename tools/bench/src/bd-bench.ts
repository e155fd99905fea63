import { describeMachine } from '@transplant/core';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { createPlatform } from '@transplant/platform';
import { Network, createModule } from '@transplant/composer';
import { trainAdapter, type DistillMethod } from '@transplant/distill';

/**
 * The back-distillation step against the ordinary-learning step (same adapter, same batch,
 * the zoo's 8×8×64 features and classification head), per back end, and against the same BD
 * step in PyTorch (double back-propagation) when /usr/bin/python3 has torch. Writes
 * tools/bench/results/bd-step.json.
 */
/** Options of `nx run bench:bd` (its schema.json holds the same names, types and defaults). */
export interface BdBenchOptions {
  /** Comma-separated back ends. */
  readonly backends: string;
  // As in the main bench: V8 compiles tfjs's JavaScript through the first ~100 steps of a process.
  readonly warmup: number;
  readonly steps: number;
  readonly batch: number;
  /** Write tools/bench/results/bd-step.json (`--no-write`: print only). */
  readonly write: boolean;
}

export const BD_BENCH_DEFAULTS: BdBenchOptions = {
  backends: 'wasm+onednn,wasm',
  warmup: 100,
  steps: 50,
  batch: 32,
  write: true,
};

export async function runBdBench(options: Partial<BdBenchOptions> = {}): Promise<void> {
  const values = { ...BD_BENCH_DEFAULTS, ...options };
  // The composition root of this run: one container.
  const platform = createPlatform(process.env);
  const steps = Number(values.steps);
  const warmup = Number(values.warmup);
  const batch = Number(values.batch);
  const log = (line: string) => process.stderr.write(`${line}\n`);

  function timeMethod(method: DistillMethod, layers: 1 | 3): number {
    const plugins = platform.plugins;
    // f outputs the zoo's 8×8×64 map (computed once per run, outside the timed step); g is the zoo's head.
    const f = createModule(plugins, {
      name: 'bench-features',
      family: 'category-vgg',
      options: { inputSize: 16, blocks: [[16], [64]] },
      seed: 1,
      category: 'cat',
    });
    const head = { inputSize: 8, inputChannels: 64, inputStride: 2, convs: [64], hidden: 64 };
    const g = createModule(plugins, { name: 'bench-head', family: 'task-cls', options: head, seed: 2 });
    const teacher = createModule(plugins, {
      name: 'bench-teacher',
      family: 'task-cls',
      options: head,
      seed: 3,
    });
    const adapter = createModule(plugins, {
      name: 'bench-adapter',
      family: 'adapter-conv',
      options: { size: 8, channels: 64, stride: 2, layers },
      seed: 4,
    });
    const network = Network.create(
      [f, g, adapter],
      [{ category: f.name, task: g.name, adapter: adapter.name }],
    );
    const images = tf.randomUniform([batch, 16, 16, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
    const labels = tf.tensor1d(Array.from({ length: batch }, (_, i) => i % 2));
    const run = (n: number) =>
      trainAdapter({
        network,
        link: { category: f.name, adapter: adapter.name, task: g.name },
        method,
        teacher: (x) => teacher.model.apply(x) as tf.Tensor,
        unlabeled: images,
        labelled: { images, targets: labels },
        steps: n,
        batchSize: batch,
        learningRate: 1e-3,
        seed: 1,
      }).stepMilliseconds;
    run(warmup);
    const ms = run(steps);
    tf.dispose([images, labels]);
    network.dispose();
    teacher.built.layers.forEach((l) => l.dispose());
    return ms;
  }

  function torchPeer(
    layers: number,
    threads: number,
  ): Promise<{ medianMs: number; torch: string } | { reason: string }> {
    return new Promise((resolve) => {
      const child = spawn('/usr/bin/python3', [fileURLToPath(new URL('./bd_peer.py', import.meta.url))], {
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.on('error', (e) => resolve({ reason: e.message }));
      child.on('close', (code) =>
        resolve(
          code === 0
            ? (JSON.parse(out) as { medianMs: number; torch: string })
            : { reason: err.trim().split('\n').at(-1) ?? `exit ${code}` },
        ),
      );
      child.stdin.end(JSON.stringify({ layers, threads, batch, warmup, steps }));
    });
  }

  const rows: Record<string, unknown>[] = [];
  for (const layers of [1, 3] as const) {
    const peer = await torchPeer(layers, availableParallelism());
    for (const backend of values.backends.split(',')) {
      const selection = await platform.backendSelector.select({ requested: backend, env: process.env });
      const bd = timeMethod('bd', layers);
      const ol = timeMethod('ol', layers);
      const torchMs = 'medianMs' in peer ? peer.medianMs : undefined;
      rows.push({
        adapter: `conv${layers}`,
        backend: selection.id,
        bdMs: bd,
        olMs: ol,
        bdOverOl: bd / ol,
        torchBdMs: torchMs,
        bdOverTorch: torchMs ? bd / torchMs : undefined,
        ...('reason' in peer ? { torch: peer.reason } : { torch: peer.torch }),
      });
      log(
        `conv${layers} ${selection.id}: BD ${bd.toFixed(1)} ms, OL ${ol.toFixed(1)} ms (BD/OL ${(bd / ol).toFixed(2)}×)${torchMs ? `, PyTorch BD ${torchMs.toFixed(1)} ms (ours/PyTorch ${(bd / torchMs).toFixed(2)}×)` : ''}`,
      );
    }
  }
  const table = [
    '| adapter | back end | BD step | OL step | BD / OL | PyTorch BD step | BD / PyTorch |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const f = (v: unknown, d = 1) => (typeof v === 'number' ? v.toFixed(d) : '—');
    table.push(
      `| ${r['adapter']} | ${r['backend']} | ${f(r['bdMs'])} ms | ${f(r['olMs'])} ms | ${f(r['bdOverOl'], 2)}× | ${f(r['torchBdMs'])} ms | ${f(r['bdOverTorch'], 2)}× |`,
    );
  }
  process.stdout.write(
    `${table.join('\n')}\n(batch ${batch}, 8×8×64 adapter input, mean of ${steps} steps after ${warmup} warm-up; ${cpus()[0]?.model}, ${availableParallelism()} cores)\n`,
  );
  if (values.write) {
    const dir = fileURLToPath(new URL('../results', import.meta.url));
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      `${dir}/bd-step.json`,
      `${JSON.stringify({ measuredAt: new Date().toISOString(), machine: describeMachine(), batch, warmup, steps, rows }, null, 2)}\n`,
    );
  }
}
