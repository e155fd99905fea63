import { mkdirSync, writeFileSync } from 'node:fs';
import { describeMachine } from '@transplant/core';
import { fileURLToPath } from 'node:url';
import { SyntheticSet } from '@transplant/data';

/**
 * Renders N synthetic images with annotations (all categories and backgrounds, round robin)
 * and reports images/s against the goal of 10,000 64×64 images in 20 s on one core.
 */
const GOAL_SECONDS_PER_10K = 20;
/** Options of `nx run bench:render` (its schema.json holds the same names, types and defaults). */
export interface RenderBenchOptions {
  readonly n: number;
  readonly size: number;
  /** Write tools/bench/results/render-synthetic.json (`--no-write`: print only). */
  readonly write: boolean;
}

export const RENDER_BENCH_DEFAULTS: RenderBenchOptions = { n: 10000, size: 64, write: true };

export async function runRenderBench(options: Partial<RenderBenchOptions> = {}): Promise<void> {
  const values = { ...RENDER_BENCH_DEFAULTS, ...options };
  const n = Number(values.n);
  const size = Number(values.size);
  const set = new SyntheticSet({
    seed: 'bench',
    size,
    perCategory: { train: Math.ceil(n / 9) },
    negatives: { train: Math.ceil(n / 9) },
  });
  // Every category and the backgrounds in equal shares (the split holds ≥ n items).
  const order = set.items('train').slice(0, n);

  for (let i = 0; i < 50; i++) set.render(order[i % order.length]!); // warm-up: JIT and Skia caches
  const t0 = performance.now();
  let withObject = 0;
  for (let i = 0; i < n; i++) {
    const s = set.render(order[i]!);
    withObject += s.annotation.box ? 1 : 0;
    if ((i + 1) % 2000 === 0)
      process.stderr.write(`rendered ${i + 1}/${n} (${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);
  }
  const seconds = (performance.now() - t0) / 1000;
  const per10k = (seconds / n) * 10_000;
  const result = {
    measuredAt: new Date().toISOString(),
    machine: {
      ...describeMachine(),
      threads: 1,
    },
    images: n,
    size,
    withObject,
    seconds,
    imagesPerSecond: n / seconds,
    secondsPer10k: per10k,
    goalSecondsPer10k: GOAL_SECONDS_PER_10K,
    ratioToGoal: per10k / GOAL_SECONDS_PER_10K,
  };
  process.stdout.write(
    `rendered ${n} ${size}×${size} images with annotations in ${seconds.toFixed(2)} s on one thread: ${(n / seconds).toFixed(0)} images/s, ${per10k.toFixed(2)} s per 10,000 (goal ${GOAL_SECONDS_PER_10K} s; ratio ${(per10k / GOAL_SECONDS_PER_10K).toFixed(2)})\n`,
  );
  if (values.write) {
    const dir = fileURLToPath(new URL('../results', import.meta.url));
    mkdirSync(dir, { recursive: true });
    writeFileSync(`${dir}/render-synthetic.json`, `${JSON.stringify(result, null, 2)}\n`);
  }
}
