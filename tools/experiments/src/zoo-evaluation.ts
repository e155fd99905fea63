import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { Composer, imageCounts, type TaskCounts } from '@transplant/composer';
import {
  TASKS,
  TransplantError,
  describeMachine,
  formatMachine,
  type TaskId,
  writeFileWhole,
} from '@transplant/core';
import { CategoryVsRest, isCategoryId } from '@transplant/data';
import { EMBEDDED_REGISTRY, createPlatform } from '@transplant/platform';
import { bootstrapRatio, type Interval } from './stats';

/**
 * `nx run experiments:zoo-evaluation`: every zoo network under docs/protocol.md. A plain run
 * scores every published version of each network on the zoo's dev split and says which version
 * dev prefers (the recipes 1.1.0 and 1.2.0 were chosen after test errors, before the protocol);
 * `--final` scores the version dev chose of each network on the final test, once, and writes the
 * table the README quotes. The zoo trains one network per recipe (one training seed): the
 * intervals are over the 400 held-out images only.
 */
export interface ZooEvaluationOptions {
  /** Comma-separated networks. */
  readonly networks: string;
  /** The final run: the final test of the version dev chose. */
  readonly final: boolean;
  readonly registry: string;
  readonly results: string;
}

export const ZOO_EVALUATION_DEFAULTS: ZooEvaluationOptions = {
  networks: ['bird', 'cat', 'cow', 'dog', 'horse', 'sheep']
    .flatMap((c) => [`${c}-cls`, `${c}-seg`])
    .join(','),
  final: false,
  registry: EMBEDDED_REGISTRY,
  results: fileURLToPath(new URL('../results', import.meta.url)),
};

/** The zoo's data seed and held-out counts (tools/zoo: `zooData`, `EVALUATION`). */
const ZOO_SEED = 7;
const HELD_OUT = { positives: 200, negatives: 200 };

export interface VersionScore {
  readonly network: string;
  readonly version: string;
  readonly split: 'dev' | 'test';
  readonly metric: string;
  readonly value: Interval;
  readonly images: number;
}

interface ZooEvaluationFile {
  backend: string;
  machine: string;
  dev: VersionScore[];
  final: VersionScore[];
}

/** The task's metric with each image's counts: cls error on all 400 images; seg IoU on the 200 positives. */
function score(
  loaded: Awaited<ReturnType<Composer['load']>>,
  options: { task: TaskId; category: string; split: 'dev' | 'test' },
): { metric: string; images: TaskCounts[] } {
  const { task, category, split } = options;
  if (!isCategoryId(category))
    throw new TransplantError('E_INVALID_ARGUMENT', `unknown category ${category}`);
  const link = loaded.network.links[0]!;
  const data = new CategoryVsRest({
    stream: 'zoo',
    seed: ZOO_SEED,
    categories: [category],
    size: loaded.network.module(link.category).ports.input.shape[1]!,
    task,
    trainStream: `${category}-${task}`,
    ...(split === 'test' ? { finalTest: true } : {}),
  });
  const refs = data.heldOut(split, {
    positives: HELD_OUT.positives,
    negatives: TASKS[task].metricOn === 'all' ? HELD_OUT.negatives : 0,
  });
  const images: TaskCounts[] = [];
  for (let start = 0; start < refs.length; start += 50) {
    const batch = data.imagesAndTargets(refs.slice(start, start + 50), task);
    const logits = loaded.network.run(link.category, link.task, batch.images);
    images.push(...imageCounts(task, logits, batch.targets));
    tf.dispose([batch.images, batch.targets, logits]);
  }
  return { metric: TASKS[task].metric, images };
}

/** Orders x.y.z versions numerically. */
const byVersion = (x: string, y: string) => {
  const [p, q] = [x, y].map((v) => v.split('.').map(Number)) as [number[], number[]];
  return p[0]! - q[0]! || p[1]! - q[1]! || p[2]! - q[2]!;
};

const better = (metric: string, x: number, y: number) => (metric === 'iou' ? x > y : x < y);

export async function runZooEvaluation(options: Partial<ZooEvaluationOptions> = {}): Promise<void> {
  const values = { ...ZOO_EVALUATION_DEFAULTS, ...options };
  const platform = createPlatform(process.env);
  const selection = await platform.backendSelector.select({ env: process.env });
  const registry = await platform.openRegistry(values.registry);
  const composer = new Composer(registry, platform.plugins);
  await mkdir(values.results, { recursive: true });
  const file = join(values.results, 'zoo-evaluation.json');
  const saved: ZooEvaluationFile = await readFile(file, 'utf8').then(
    (t) => JSON.parse(t) as ZooEvaluationFile,
    () => ({ backend: selection.id, machine: formatMachine(describeMachine()), dev: [], final: [] }),
  );
  const save = async () => {
    await writeFile(`${file}.partial`, `${JSON.stringify(saved, null, 2)}\n`);
    await rename(`${file}.partial`, file);
  };
  for (const network of values.networks.split(',')) {
    const [category, task] = network.split('-') as [string, TaskId];
    const versions = Object.keys((await registry.index(network)).versions).sort(byVersion);
    const evaluate = async (version: string, split: 'dev' | 'test') => {
      process.stderr.write(`${network}@${version} on ${split}… `);
      const loaded = await composer.load(`${network}@${version}`);
      try {
        const { metric, images } = score(loaded, { task, category, split });
        const value = bootstrapRatio(images, `${network}@${version}/${split}`);
        process.stderr.write(`${metric} ${value.mean.toFixed(4)}\n`);
        return { network, version, split, metric, value, images: images.length } satisfies VersionScore;
      } finally {
        loaded.network.dispose();
      }
    };
    if (!values.final) {
      for (const version of versions) {
        if (saved.dev.some((s) => s.network === network && s.version === version)) continue;
        saved.dev.push(await evaluate(version, 'dev'));
        await save();
      }
      continue;
    }
    const chosen = devChoice(saved.dev, network);
    if (!chosen)
      throw new TransplantError(
        'E_INVALID_ARGUMENT',
        `${network} has no dev scores: run nx run experiments:zoo-evaluation (without --final) first`,
        { operation: 'zoo-evaluation' },
      );
    if (saved.final.some((s) => s.network === network && s.version === chosen.version)) continue;
    saved.final.push(await evaluate(chosen.version, 'test'));
    await save();
  }
  const text = formatZooEvaluation(saved);
  await writeFileWhole(join(values.results, 'zoo-evaluation.md'), text, 'experiment');
  process.stdout.write(`${text}\n`);
}

/** The version of a network with the best dev score (on a tie, the later version). */
export function devChoice(dev: readonly VersionScore[], network: string): VersionScore | undefined {
  return dev
    .filter((s) => s.network === network)
    .reduce<VersionScore | undefined>(
      (best, s) => (!best || !better(s.metric, best.value.mean, s.value.mean) ? s : best),
      undefined,
    );
}

const show = (metric: string, i: Interval) =>
  metric === 'iou'
    ? `${i.mean.toFixed(3)} [${i.low.toFixed(3)}, ${i.high.toFixed(3)}]`
    : `${(100 * i.mean).toFixed(2)} % [${(100 * i.low).toFixed(2)}, ${(100 * i.high).toFixed(2)}]`;

export function formatZooEvaluation(file: ZooEvaluationFile): string {
  const networks = [...new Set(file.dev.map((s) => s.network))];
  const out = [
    '# The zoo under the protocol (docs/protocol.md)',
    '',
    `Back end ${file.backend}; machine ${file.machine}. cls: error rate on 200 images of the category and 200 others; seg: IoU on 200 images of the category. 95 % bootstrap intervals over the images (each network is one training run: no seed spread). Regenerate: \`npx nx run experiments:zoo-evaluation\` (dev), then \`--final\`.`,
    '',
    '## Dev: every published version',
    '',
    '| network | version | dev metric | dev prefers |',
    '|---|---|---|---|',
  ];
  for (const network of networks) {
    const chosen = devChoice(file.dev, network);
    for (const s of file.dev.filter((d) => d.network === network))
      out.push(
        `| ${network} | ${s.version} | ${show(s.metric, s.value)} | ${s.version === chosen?.version ? '**yes**' : ''} |`,
      );
  }
  if (file.final.length > 0) {
    out.push(
      '',
      '## Final test: the version dev chose, read once',
      '',
      '| network | metric | final test |',
      '|---|---|---|',
    );
    for (const s of file.final)
      out.push(`| ${s.network}@${s.version} | ${s.metric} | ${show(s.metric, s.value)} |`);
  }
  out.push('');
  return out.join('\n');
}
