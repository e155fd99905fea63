import type { Command } from 'commander';
import {
  ADAPTER_LAYERS,
  ADAPTER_NAMES,
  ADAPTER_TRAINING_DEFAULTS as DEFAULTS,
} from '@transplant/distill/options';
import type { LinkTraining } from '@transplant/distill';
import type { Progress } from '../progress';
import type { CommandContext } from './command-context';
import { genericContext } from './generic-context';
import { resumableOptions, withRunFolder } from './long-run';
import { integers, oneOf } from './parse-options';

type TrainingFlags = Record<'samples' | 'adapter' | 'steps' | 'seed', string>;

/** `transplant add-category | add-task | remove-category`: a generic network grows or shrinks by one module. */
export function genericGrowthCommands(parent: Command, ctx: CommandContext): void {
  const context = () => genericContext(ctx);
  const training = (options: TrainingFlags): LinkTraining => {
    const adapter = oneOf(options.adapter, 'adapter', ADAPTER_NAMES, 'generic');
    const { steps, samples, seed } = integers(options, { steps: 1, samples: 0, seed: 0 }, 'generic');
    // One progress per link: a new link ends the last one's.
    let shown: { link: string; bar: Progress } | undefined;
    const progress = (link: string, step: number, loss: number) => {
      if (shown?.link !== link) {
        shown?.bar.done();
        shown = { link, bar: ctx.progress({ label: `  ${link}: step`, total: steps, every: 50 }) };
      }
      shown.bar.update(step, { loss });
      if (step === steps) shown.bar.done();
    };
    return { samples, adapterLayers: ADAPTER_LAYERS[adapter], steps, seed, progress };
  };
  const trainingOptions = (cmd: Command) =>
    resumableOptions(cmd)
      .option(
        '--samples <n>',
        'annotated images for links without a teacher (ordinary learning); 0 skips those links',
        String(DEFAULTS.samples),
      )
      .option('--adapter <conv1|conv3>', 'adapter: 1 or 3 conv+ReLU layers', DEFAULTS.adapter)
      .option('--steps <n>', 'training steps per link', String(DEFAULTS.steps))
      .option('--seed <n>', 'seed of the data and the adapters', String(DEFAULTS.seed));

  trainingOptions(
    parent
      .command('add-category')
      .description(
        "add a specific network's category module to a generic network, learning an adapter to each of its task modules",
      ),
  )
    .requiredOption('--generic <name>', 'the generic network')
    .requiredOption('--from <network>', 'the specific network whose category module joins, e.g. cat-seg')
    .action(async (options: TrainingFlags & { generic: string; from: string; restart?: boolean }) => {
      const { generic, from, restart, ...flags } = options;
      const learning = training(options);
      const { addCategory, formatGenericChange } = await import('@transplant/distill');
      const growing = await context();
      await withRunFolder(
        ctx,
        {
          command: 'add-category',
          inputs: { generic, from, ...flags },
          restart: restart === true,
          backend: growing.backend,
        },
        (run) => addCategory(growing, { generic, from, training: learning, run }),
        (change) => ctx.out(change, formatGenericChange(change)),
      );
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
    .action(async (options: TrainingFlags & { generic: string; from: string; restart?: boolean }) => {
      const { generic, from, restart, ...flags } = options;
      const learning = training(options);
      const { addTask, formatGenericChange } = await import('@transplant/distill');
      const growing = await context();
      await withRunFolder(
        ctx,
        {
          command: 'add-task',
          inputs: { generic, from, ...flags },
          restart: restart === true,
          backend: growing.backend,
        },
        (run) => addTask(growing, { generic, from, training: learning, run }),
        (change) => ctx.out(change, formatGenericChange(change)),
      );
    });
  parent
    .command('remove-category')
    .description(
      'publish the next version of a generic network without a category module (older versions still resolve)',
    )
    .requiredOption('--generic <name>', 'the generic network')
    .requiredOption('--category <module>', 'the category module to remove')
    .action(async ({ generic, category }: { generic: string; category: string }) => {
      const { formatGenericChange, removeCategory } = await import('@transplant/distill');
      const change = await removeCategory(await context(), { generic, category });
      ctx.out(change, formatGenericChange(change));
    });
}
