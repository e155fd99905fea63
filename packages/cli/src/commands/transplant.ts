import { resolve } from 'node:path';
import type { Command } from 'commander';
import {
  ADAPTER_LAYERS,
  ADAPTER_NAMES,
  ADAPTER_TRAINING_DEFAULTS as DEFAULTS,
  CALIBRATION_MODES,
  DEFAULT_CALIBRATION,
  METHODS,
  PROBE_KINDS,
} from '@transplant/distill/options';
import type { Progress } from '../progress';
import { REPORTS_DIR, type CommandContext } from './command-context';
import { trainingContext } from './generic-context';
import { resumableOptions, withRunFolder } from './long-run';
import { integers, oneOf } from './parse-options';

/** The flags as commander hands them over: values as strings, --no-publish as `publish`. */
type Flag =
  'from' | 'to' | 'samples' | 'method' | 'adapter' | 'probe' | 'calibration' | 'steps' | 'seed' | 'reports';
type Options = Record<Flag, string> & {
  teacher?: string;
  publish: boolean;
  final?: boolean;
  restart?: boolean;
};

/** `transplant transplant --from bird-cls --to cat-seg …`: learns an adapter, evaluates, publishes, reports. */
export function transplantCommand(parent: Command, ctx: CommandContext): Command {
  return resumableOptions(parent.command('transplant'))
    .description(
      "learn only an adapter that puts --from's task module on --to's category module (both frozen), evaluate, publish and report",
    )
    .requiredOption('--from <network>', 'the network whose task module is reused, e.g. bird-cls')
    .requiredOption('--to <network>', 'the network whose category module is reused, e.g. cat-seg')
    .option('--teacher <network>', 'a teacher network on the same category module (same digest)')
    .option(
      '--samples <n>',
      'target images: annotated for ol, only their pixels for bd and kd (0: bd and kd learn from the negatives alone)',
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
    .option(
      '--calibration <label-free|labelled>',
      "a seg → cls bridge's calibration: the teacher's own mask decisions on unlabelled images, or 200 dev images with class labels (counted as annotated)",
      DEFAULT_CALIBRATION,
    )
    .option('--steps <n>', 'training steps', String(DEFAULTS.steps))
    .option('--seed <n>', 'seed of the data and the adapter', String(DEFAULTS.seed))
    .option(
      '--final',
      'evaluate on the final-test split instead of dev (docs/protocol.md: only once settings are fixed on dev)',
    )
    .option('--no-publish', 'evaluate and report without publishing')
    .option('--reports <dir>', 'where the report goes', REPORTS_DIR)
    .action(async (options: Options) => {
      const method = oneOf(options.method, 'method', METHODS, 'transplant');
      const probe = oneOf(options.probe, 'probe', PROBE_KINDS, 'transplant');
      const adapter = oneOf(options.adapter, 'adapter', ADAPTER_NAMES, 'transplant');
      const calibration = oneOf(options.calibration, 'calibration', CALIBRATION_MODES, 'transplant');
      const { formatTransplant, transplantSummary, transplantWithReport } =
        await import('@transplant/distill');
      const context = await trainingContext(ctx);
      const numbers = integers(options, { steps: 1, samples: 0, seed: 0 }, 'transplant');
      let bar: Progress | undefined;
      // eslint-disable-next-line @typescript-eslint/no-unused-vars -- where the report goes does not change the run
      const { reports, restart, ...inputs } = options;
      await withRunFolder(
        ctx,
        { command: 'transplant', inputs, restart: restart === true, backend: context.backend },
        (run) =>
          transplantWithReport({
            ...context,
            from: options.from,
            to: options.to,
            ...(options.teacher ? { teacher: options.teacher } : {}),
            method,
            ...numbers,
            adapterLayers: ADAPTER_LAYERS[adapter],
            probe,
            calibration,
            ...(options.final ? { final: true } : {}),
            publish: options.publish,
            run,
            progress: (step, loss) => {
              bar ??= ctx.progress({ label: 'step', total: numbers.steps, every: 25 });
              bar.update(step, { loss });
              if (step === numbers.steps) bar.done();
            },
            report: {
              dir: resolve(options.reports),
              command: `transplant --from ${options.from} --to ${options.to} --method ${options.method} --samples ${options.samples} --adapter ${options.adapter} --probe ${options.probe} --calibration ${options.calibration} --steps ${options.steps} --seed ${options.seed}${options.final ? ' --final' : ''}`,
            },
          }),
        ({ result, report }) => ctx.out(transplantSummary(result, report), formatTransplant(result, report)),
      );
    });
}
