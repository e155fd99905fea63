import type { Command } from 'commander';
import { formatImport, importModel } from '@transplant/composer';
import { TASK_IDS, TransplantError, type TaskId } from '@transplant/core';
import { openCommandRegistry, selectCommandBackend, type CommandContext } from './command-context';

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
}

const usage = (detail: string) => new TransplantError('E_USAGE', detail, { operation: 'import' });

/**
 * `transplant import`: splits a TensorFlow.js LayersModel into a category module and a task
 * module (the import workflow of @transplant/composer) and prints what it did.
 */
export function importCommand(parent: Command, ctx: CommandContext): Command {
  return parent
    .command('import')
    .description(
      'split a TensorFlow.js LayersModel (model.json + weights) into a category module and a task module',
    )
    .requiredOption(
      '--model <model.json>',
      'the model: model.json and its weight files (tensorflowjs_converter or `transplant export` layout)',
    )
    .requiredOption(
      '--split <layer>',
      'the layer whose output is the feature map between the modules (after a residual block, not inside one)',
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
    .option('--no-check', 'skip comparing the modules with the original model on random images')
    .action(async (flags: ImportFlags) => {
      if (!(TASK_IDS as string[]).includes(flags.task))
        throw usage(`--task ${flags.task}: use one of ${TASK_IDS.join(', ')}`);
      if (!flags.out && !flags.publish)
        throw usage('say where the modules go: --out DIR (module folders) and/or --publish (the registry)');
      if (flags.stride !== undefined && !/^\d+$/.test(flags.stride))
        throw usage(`--stride ${flags.stride}: a non-negative integer`);
      await selectCommandBackend(ctx);
      const { report, feature } = await importModel({
        plugins: ctx.services().plugins,
        model: flags.model,
        split: flags.split,
        category: flags.category,
        task: flags.task as TaskId,
        ...(flags.name ? { name: flags.name } : {}),
        ...(flags.stride !== undefined ? { stride: Number(flags.stride) } : {}),
        version: flags.version,
        generatedBy: ctx.services().generatedBy,
        check: flags.check,
        ...(flags.out ? { out: flags.out } : {}),
        ...(flags.publish ? { registry: () => openCommandRegistry(ctx) } : {}),
        warn: (line) => ctx.err(`${line}\n`),
      });
      ctx.out(report, formatImport(flags.model, report, feature));
    });
}
