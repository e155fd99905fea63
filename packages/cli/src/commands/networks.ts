import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { CommandContext } from './command-context';
import { composeCommand, pluginsCommand } from './compose';
import { commandComposer, pickLink } from './network-context';

/** `transplant predict | export`, and `compose | plugins`: networks from the registry, run and shipped. */
export function networkCommands(parent: Command, ctx: CommandContext): void {
  const composer = () => commandComposer(ctx);
  const linkOptions = (cmd: Command) =>
    cmd
      .option('--category <module>', 'category module of the link (generic networks)')
      .option('--task <module>', 'task module of the link (generic networks)');

  linkOptions(
    parent
      .command('predict')
      .description('run a network on an image: a score for cls, a mask and an overlay PNG for seg'),
  )
    .requiredOption('--net <ref>', 'a network in the registry, e.g. cat-seg or cat-seg@1.0.0')
    .requiredOption('--image <file>', 'a JPEG or PNG; resized to the network input')
    .option('--out <file>', 'seg: overlay PNG to write (default <image>.<net>.png)')
    .action(
      async (options: { net: string; image: string; out?: string; category?: string; task?: string }) => {
        const { formatPrediction, predictImage } = await import('@transplant/composer');
        const { network } = await (await composer()).load(options.net);
        try {
          const result = await predictImage({
            network,
            link: pickLink(network, options),
            image: options.image,
            ...(options.out ? { out: options.out } : {}),
          });
          ctx.out(result, formatPrediction(result));
        } finally {
          network.dispose();
        }
      },
    );

  composeCommand(parent, ctx);
  linkOptions(
    parent
      .command('export')
      .description(
        'write a link of a network as a TensorFlow.js LayersModel (model.json + weights.bin) for tf.loadLayersModel',
      ),
  )
    .requiredOption('--net <ref>', 'a network in the registry')
    .requiredOption('--out <dir>', 'folder to write model.json and weights.bin into')
    .action(async (options: { net: string; out: string; category?: string; task?: string }) => {
      const { exportLayersModel } = await import('@transplant/composer');
      const { network } = await (await composer()).load(options.net);
      try {
        const result = await exportLayersModel(network, {
          link: pickLink(network, options),
          directory: resolve(options.out),
          generatedBy: ctx.services().generatedBy,
        });
        ctx.out(result, `wrote ${result.files.join(' and ')} (${result.bytes} bytes of weights)`);
      } finally {
        network.dispose();
      }
    });

  pluginsCommand(parent, ctx);
}
