import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { Composer } from '@transplant/composer';
import { TransplantError } from '@transplant/core';
import {
  ADAPTER_LAYERS,
  ADAPTER_TRAINING_DEFAULTS as DEFAULTS,
  METHODS,
  formatTransplant,
  isAdapterName,
  transplant,
  writeTransplantReport,
  type DistillMethod,
  type ProbeKind,
} from '@transplant/distill';
import { openCommandRegistry, selectCommandBackend, type CommandContext } from './command-context';
import { integer } from './parse-options';

/** The workspace's `reports/` folder, wherever the command runs from. */
export const REPORTS_DIR = fileURLToPath(new URL('../../../../reports', import.meta.url));

interface Options {
  from: string;
  to: string;
  teacher?: string;
  samples: string;
  method: string;
  adapter: string;
  probe: string;
  steps: string;
  seed: string;
  publish: boolean;
  reports: string;
}

/** `transplant transplant --from bird-cls --to cat-seg …`: learns an adapter, evaluates, publishes, reports. */
export function transplantCommand(parent: Command, ctx: CommandContext): Command {
  return parent
    .command('transplant')
    .description(
      "learn only an adapter that puts --from's task module on --to's category module (both frozen), evaluate, publish and report",
    )
    .requiredOption('--from <network>', 'the network whose task module is reused, e.g. bird-cls')
    .requiredOption('--to <network>', 'the network whose category module is reused, e.g. cat-seg')
    .option('--teacher <network>', 'a teacher network on the same category module (same digest)')
    .option(
      '--samples <n>',
      'annotated target images (0: back-distillation from unlabeled images only)',
      String(DEFAULTS.samples),
    )
    .option(
      '--method <bd|kd|ol>',
      'bd: back-distillation; kd: output distillation; ol: ordinary learning on the samples',
      DEFAULTS.method,
    )
    .option('--adapter <conv1|conv3>', 'adapter: 1 or 3 conv+ReLU layers', DEFAULTS.adapter)
    .option(
      '--probe <pseudo-label|random>',
      "bd on a mask: the teacher's pseudo-label loss gradient, or random Gaussian probes",
      DEFAULTS.probe,
    )
    .option('--steps <n>', 'training steps', String(DEFAULTS.steps))
    .option('--seed <n>', 'seed of the data and the adapter', String(DEFAULTS.seed))
    .option('--no-publish', 'evaluate and report without publishing')
    .option('--reports <dir>', 'where the report goes', REPORTS_DIR)
    .action(async (options: Options) => {
      if (!(METHODS as readonly string[]).includes(options.method))
        throw new TransplantError('E_USAGE', `--method must be one of ${METHODS.join(', ')}`, {
          operation: 'transplant',
        });
      if (options.probe !== 'random' && options.probe !== 'pseudo-label')
        throw new TransplantError('E_USAGE', '--probe must be random or pseudo-label', {
          operation: 'transplant',
        });
      if (!isAdapterName(options.adapter))
        throw new TransplantError('E_USAGE', '--adapter must be conv1 or conv3', { operation: 'transplant' });
      const selection = await selectCommandBackend(ctx);
      const registry = await openCommandRegistry(ctx);
      const steps = integer(options.steps, 'steps', 1);
      const started = Date.now();
      const result = await transplant({
        composer: new Composer(registry, ctx.services().plugins),
        from: options.from,
        to: options.to,
        ...(options.teacher ? { teacher: options.teacher } : {}),
        method: options.method as DistillMethod,
        samples: integer(options.samples, 'samples', 0),
        adapterLayers: ADAPTER_LAYERS[options.adapter],
        probe: options.probe as ProbeKind,
        steps,
        seed: integer(options.seed, 'seed', 0),
        generatedBy: ctx.services().generatedBy,
        backend: selection.id,
        publish: options.publish,
        progress: (step, loss) => {
          if (step % 25 !== 0 && step !== steps) return;
          const perStep = (Date.now() - started) / 1000 / step;
          ctx.err(
            `step ${step}/${steps}  loss ${loss.toFixed(4)}  ETA ${Math.round(perStep * (steps - step))} s\n`,
          );
        },
      });
      const command = `transplant --from ${options.from} --to ${options.to} --method ${options.method} --samples ${options.samples} --adapter ${options.adapter} --probe ${options.probe} --steps ${options.steps} --seed ${options.seed}`;
      const report = await writeTransplantReport(resolve(options.reports), result, command);
      const { losses, ...summary } = result;
      ctx.out({ ...summary, finalLoss: losses.at(-1), report }, formatTransplant(result, report));
    });
}
