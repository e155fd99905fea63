import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { TASK_IDS, TransplantError, type TaskId } from '@transplant/core/options';
import { openCommandRegistry, selectCommandBackend, type CommandContext } from './command-context';
import { exactVersion, integer } from './parse-options';

interface ImportFlags {
  model: string;
  split: string;
  category: string;
  task: string;
  name?: string;
  version: string;
  out?: string;
  publish?: boolean;
  stride?: string;
  check: boolean;
  output?: string;
  inputRange?: string;
  channels?: string;
  classes?: string;
  labels?: string;
  checkImage?: string[];
}

const usage = (detail: string) => new TransplantError('E_USAGE', detail, { operation: 'import' });

/** The output channels to keep: `--channels` as numbers, or `--classes` looked up in `--labels`. */
async function channelList(flags: ImportFlags): Promise<number[] | undefined> {
  if (flags.channels !== undefined && flags.classes !== undefined)
    throw usage('give --channels or --classes, not both');
  if (flags.channels !== undefined) {
    const list = flags.channels.split(',').map((c) => c.trim());
    if (!list.every((c) => /^\d+$/.test(c)))
      throw usage(`--channels ${flags.channels}: non-negative integers, comma-separated`);
    return list.map(Number);
  }
  if (flags.classes === undefined) {
    if (flags.labels !== undefined)
      throw usage('--labels names the classes of --classes; give both or neither');
    return undefined;
  }
  if (!flags.labels) throw usage('--classes needs --labels FILE (one class name per line, in channel order)');
  const text = await readFile(flags.labels, 'utf8').catch((cause: unknown) => {
    throw new TransplantError('E_USAGE', `--labels ${flags.labels} cannot be read`, {
      operation: 'import',
      cause,
    });
  });
  const labels = text.split(/\r?\n/).map((l) => l.trim());
  return flags.classes.split(',').map((name) => {
    if (name.trim() === '') throw usage(`--classes ${flags.classes}: an empty class name`);
    const index = labels.indexOf(name.trim());
    if (index < 0) throw usage(`--classes: "${name}" is not in ${flags.labels}`);
    return index;
  });
}

/**
 * `transplant import`: splits a TensorFlow.js LayersModel into a category module and a task
 * module (the import workflow of @transplant/composer) and prints what it did.
 */
export function importCommand(parent: Command, ctx: CommandContext): Command {
  return parent
    .command('import')
    .description(
      'split a TensorFlow.js model — a LayersModel (Keras layers) or a GraphModel (TF ops), as model.json + weights or wrapped in .js modules — into a category module and a task module',
    )
    .requiredOption(
      '--model <model.json>',
      'the model: model.json and its weight files (tensorflowjs_converter or `transplant export` layout), or a model.js exporting the JSON',
    )
    .requiredOption(
      '--split <layer|node>',
      'the layer (LayersModel) or op node (GraphModel) whose output is the feature map between the modules (after a residual block, not inside one)',
    )
    .requiredOption('--category <category>', 'the category the category module is for, e.g. cat')
    .requiredOption('--task <task>', `the task the rest of the model solves: ${TASK_IDS.join(' | ')}`)
    .option(
      '--name <prefix>',
      'modules <prefix>-features and <prefix>-head, network <prefix> (default <category>-<task>-imported)',
    )
    .option('--version <semver>', 'version of the modules and the network', '1.0.0')
    .option('--out <dir>', 'write the two module folders (manifest.json + weights.bin) here')
    .option('--publish', 'publish both modules and the network composition to the registry')
    .option('--stride <n>', 'the feature map stride, when input side / feature side is not it')
    .option('--no-check', 'skip comparing the modules with the original model')
    .option(
      '--check-image <path...>',
      'photos to compare the modules with the original model on (default: seeded noise)',
    )
    .option(
      '--output <node>',
      "GraphModel: the node the task module ends at (default: the model's one output)",
    )
    .option(
      '--input-range <lo,hi>',
      'GraphModel: the value range the model expects, mapped from images in [0, 1] (e.g. 0,255 or -1,1)',
    )
    .option(
      '--channels <i,j,…>',
      'GraphModel: output channels to keep, in order (e.g. the classes of per-class heat maps)',
    )
    .option('--classes <a,b,…>', 'GraphModel: output channels to keep, by name in --labels')
    .option('--labels <file>', 'one class name per line, in channel order (e.g. coco.names)')
    .action(async (flags: ImportFlags) => {
      if (!(TASK_IDS as string[]).includes(flags.task))
        throw usage(`--task ${flags.task}: use one of ${TASK_IDS.join(', ')}`);
      if (!flags.out && !flags.publish)
        throw usage('say where the modules go: --out DIR (module folders) and/or --publish (the registry)');
      const stride = flags.stride === undefined ? undefined : integer(flags.stride, 'stride', 1, 'import');
      const version = await exactVersion(flags.version, 'version', 'import');
      const parts = flags.inputRange?.split(',').map((p) => p.trim());
      const range = parts?.map(Number);
      if (
        parts &&
        range &&
        (range.length !== 2 ||
          parts.some((p) => p === '') ||
          !range.every(Number.isFinite) ||
          !(range[0]! < range[1]!))
      )
        throw usage(`--input-range ${flags.inputRange}: two numbers lo,hi with lo < hi`);
      const channels = await channelList(flags);
      await selectCommandBackend(ctx);
      const { formatImport, importModel } = await import('@transplant/composer');
      const { report, feature } = await importModel({
        plugins: ctx.services().plugins,
        model: flags.model,
        split: flags.split,
        category: flags.category,
        task: flags.task as TaskId,
        ...(flags.name ? { name: flags.name } : {}),
        ...(stride !== undefined ? { stride } : {}),
        version,
        generatedBy: ctx.services().generatedBy,
        check: flags.check,
        ...(flags.checkImage ? { checkImages: flags.checkImage } : {}),
        ...(flags.output ? { output: flags.output } : {}),
        ...(range ? { inputRange: range as [number, number] } : {}),
        ...(channels ? { channels } : {}),
        ...(flags.classes !== undefined ? { labels: flags.classes.split(',').map((c) => c.trim()) } : {}),
        ...(flags.out ? { out: flags.out } : {}),
        ...(flags.publish ? { registry: () => openCommandRegistry(ctx, undefined, { write: true }) } : {}),
        warn: (line) => ctx.err(`${line}\n`),
      });
      ctx.out(report, formatImport(flags.model, report, feature));
    });
}
