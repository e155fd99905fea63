import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { createCanvas } from '@napi-rs/canvas';
import type { Command } from 'commander';
import { Composer, predictImage } from '@transplant/composer';
import { TransplantError } from '@transplant/core';
import {
  ADAPTER_LAYERS,
  ADAPTER_TRAINING_DEFAULTS as DEFAULTS,
  addCategory,
  addTask,
  createGeneric,
  genericMatrix,
  isAdapterName,
  loadGeneric,
  removeCategory,
  type GenericChange,
  type GenericContext,
  type GenericMatrix,
  type LinkTraining,
} from '@transplant/distill';
import { builtinPlugins } from '../plugins';
import { GENERATED_BY } from '../version';
import { openCommandRegistry, selectCommandBackend, type CommandContext } from './command-context';
import { pickLink } from './networks';
import { integer } from './transplant';

/** The matrix as text: one row per category module, one column per task module. */
export function formatMatrix(m: GenericMatrix): string {
  const cell = (category: string, task: string) => {
    const c = m.cells.find((x) => x.category === category && x.task === task);
    if (!c) return '—';
    return `${c.adapter ? 'adapter' : 'direct'}${c.metric ? ` ${c.metric.name} ${c.metric.value.toFixed(4)}` : ''}`;
  };
  return [
    `${m.name}@${m.version}: ${m.categories.length} categories × ${m.tasks.length} tasks, ${m.cells.length} links`,
    '',
    `| category \\ task | ${m.tasks.join(' | ')} |`,
    `|---|${m.tasks.map(() => '---|').join('')}`,
    ...m.categories.map((c) => `| ${c} | ${m.tasks.map((t) => cell(c, t)).join(' | ')} |`),
  ].join('\n');
}

/** The matrix as a PNG: green where a link exists (darker is better), its metric written in the cell. */
export function matrixPng(m: GenericMatrix): Buffer {
  const cellW = 150;
  const cellH = 34;
  const left = 190;
  const top = 60;
  const canvas = createCanvas(left + cellW * m.tasks.length + 10, top + cellH * m.categories.length + 10);
  const g = canvas.getContext('2d');
  g.fillStyle = '#ffffff';
  g.fillRect(0, 0, canvas.width, canvas.height);
  g.fillStyle = '#222';
  g.font = 'bold 14px sans-serif';
  g.fillText(`${m.name}@${m.version}`, 8, 20);
  g.font = '12px sans-serif';
  m.tasks.forEach((t, j) => g.fillText(t.slice(0, 22), left + j * cellW + 4, top - 8));
  m.categories.forEach((c, i) => {
    g.fillStyle = '#222';
    g.fillText(c.slice(0, 28), 8, top + i * cellH + cellH / 2 + 4);
    m.tasks.forEach((t, j) => {
      const cell = m.cells.find((x) => x.category === c && x.task === t);
      const x = left + j * cellW;
      const y = top + i * cellH;
      // Quality in [0, 1]: 1 − error rate, or the IoU.
      const q = cell?.metric
        ? cell.metric.name === 'error-rate'
          ? 1 - cell.metric.value
          : cell.metric.value
        : undefined;
      g.fillStyle = !cell
        ? '#eeeeee'
        : q === undefined
          ? '#b7d7b0'
          : `hsl(120, 45%, ${Math.round(85 - 45 * Math.max(0, Math.min(1, q)))}%)`;
      g.fillRect(x + 1, y + 1, cellW - 2, cellH - 2);
      g.fillStyle = q !== undefined && q > 0.6 ? '#ffffff' : '#222';
      g.fillText(
        cell
          ? `${cell.adapter ? 'adapter' : 'direct'}${cell.metric ? ` ${cell.metric.name === 'error-rate' ? 'err' : cell.metric.name} ${cell.metric.value.toFixed(3)}` : ''}`
          : 'no link',
        x + 6,
        y + cellH / 2 + 4,
      );
    });
  });
  return canvas.toBuffer('image/png');
}

function formatChange(c: GenericChange): string {
  const lines = c.links.map(
    (l) =>
      `  ${l.link}: ${l.status}${l.method ? ` (${l.method})` : ''}${l.metric ? ` ${l.metric.name} ${l.metric.value.toFixed(4)}` : ''}${l.reason ? ` — ${l.reason}` : ''}`,
  );
  const guard =
    c.guarded.length > 0
      ? `\n  ${c.guarded.length} existing links re-run on the probe images: bit-identical`
      : '';
  return `published ${c.name}@${c.version} (${c.wallSeconds.toFixed(1)} s)\n${lines.join('\n')}${guard}`;
}

interface TrainingFlags {
  samples: string;
  adapter: string;
  steps: string;
  seed: string;
}

const count = (value: string, name: string, min: number) => integer(value, name, min, 'generic');

/**
 * `transplant generic create|show|run`, and `add-category`, `add-task`, `remove-category`:
 * a generic network that grows one specific network at a time, never changing what it knew.
 */
export function genericCommands(parent: Command, ctx: CommandContext): void {
  const context = async (): Promise<GenericContext> => {
    const container = ctx.container();
    const selection = await selectCommandBackend(ctx, container);
    const composer = new Composer(await openCommandRegistry(ctx, undefined, container), builtinPlugins());
    return {
      composer,
      generatedBy: GENERATED_BY,
      backend: selection.id,
      log: (line) => ctx.err(`${line}\n`),
    };
  };
  const training = (o: TrainingFlags): LinkTraining => {
    if (!isAdapterName(o.adapter))
      throw new TransplantError('E_USAGE', '--adapter must be conv1 or conv3', { operation: 'generic' });
    const steps = count(o.steps, 'steps', 1);
    return {
      samples: count(o.samples, 'samples', 0),
      adapterLayers: ADAPTER_LAYERS[o.adapter],
      steps,
      seed: count(o.seed, 'seed', 0),
      progress: (link, step, loss) => {
        if (step % 50 === 0 || step === steps)
          ctx.err(`  ${link}: step ${step}/${steps}  loss ${loss.toFixed(4)}\n`);
      },
    };
  };
  const trainingOptions = (cmd: Command) =>
    cmd
      .option(
        '--samples <n>',
        'annotated images for links without a teacher (ordinary learning); 0 skips those links',
        String(DEFAULTS.samples),
      )
      .option('--adapter <conv1|conv3>', 'adapter: 1 or 3 conv+ReLU layers', DEFAULTS.adapter)
      .option('--steps <n>', 'training steps per link', String(DEFAULTS.steps))
      .option('--seed <n>', 'seed of the data and the adapters', String(DEFAULTS.seed));

  const generic = parent
    .command('generic')
    .description('generic networks: N category modules × M task modules, one adapter per link');
  generic
    .command('create')
    .description('a new generic network from specific networks (their modules and own links)')
    .requiredOption('--name <name>', 'the generic network name')
    .requiredOption('--from <networks>', 'comma-separated specific networks, e.g. bird-cls,bird-seg')
    .action(async (o: { name: string; from: string }) => {
      const change = await createGeneric(
        await context(),
        o.name,
        o.from
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      );
      ctx.out(change, formatChange(change));
    });
  generic
    .command('show')
    .description('the category × task matrix: which links exist, their adapter and held-out metric')
    .argument('<generic>', 'a generic network, e.g. animals or animals@1.2.0')
    .option('--png <file>', 'also draw the matrix as a PNG')
    .action(async (ref: string, o: { png?: string }) => {
      const g = await loadGeneric((await context()).composer, ref);
      try {
        const matrix = genericMatrix(g);
        if (o.png) await writeFile(resolve(o.png), matrixPng(matrix));
        ctx.out(
          { ...matrix, ...(o.png ? { png: resolve(o.png) } : {}) },
          `${formatMatrix(matrix)}${o.png ? `\n\npicture: ${resolve(o.png)}` : ''}`,
        );
      } finally {
        g.network.dispose();
      }
    });
  generic
    .command('run')
    .description('run one link of a generic network on an image')
    .argument('<generic>', 'a generic network')
    .requiredOption('--category <module>', 'category module of the link')
    .requiredOption('--task <module>', 'task module of the link')
    .requiredOption('--image <file>', 'a JPEG or PNG')
    .option('--out <file>', 'seg: overlay PNG to write')
    .action(async (ref: string, o: { category: string; task: string; image: string; out?: string }) => {
      const g = await loadGeneric((await context()).composer, ref);
      try {
        const result = await predictImage({
          network: g.network,
          link: pickLink(g.network, o),
          image: o.image,
          ...(o.out ? { out: o.out } : {}),
        });
        ctx.out(
          result,
          result.task === 'cls'
            ? `${result.link}: score ${result.score.toFixed(4)}`
            : `${result.link}: ${(result.foreground * 100).toFixed(1)}% of pixels; overlay ${result.overlay}`,
        );
      } finally {
        g.network.dispose();
      }
    });

  trainingOptions(
    parent
      .command('add-category')
      .description(
        "add a specific network's category module to a generic network, learning an adapter to each of its task modules",
      ),
  )
    .requiredOption('--generic <name>', 'the generic network')
    .requiredOption('--from <network>', 'the specific network whose category module joins, e.g. cat-seg')
    .action(async (o: TrainingFlags & { generic: string; from: string }) => {
      const change = await addCategory(await context(), o.generic, o.from, training(o));
      ctx.out(change, formatChange(change));
    });
  trainingOptions(
    parent
      .command('add-task')
      .description(
        "add a specific network's task module to a generic network, learning an adapter from each of its category modules",
      ),
  )
    .requiredOption('--generic <name>', 'the generic network')
    .requiredOption('--from <network>', 'the specific network whose task module joins, e.g. bird-cls')
    .action(async (o: TrainingFlags & { generic: string; from: string }) => {
      const change = await addTask(await context(), o.generic, o.from, training(o));
      ctx.out(change, formatChange(change));
    });
  parent
    .command('remove-category')
    .description(
      'publish the next version of a generic network without a category module (older versions still resolve)',
    )
    .requiredOption('--generic <name>', 'the generic network')
    .requiredOption('--category <module>', 'the category module to remove')
    .action(async (o: { generic: string; category: string }) => {
      const change = await removeCategory(await context(), o.generic, o.category);
      ctx.out(change, formatChange(change));
    });
}
