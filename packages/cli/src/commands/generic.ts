import type { Command } from 'commander';
import type { CommandContext } from './command-context';
import { genericContext } from './generic-context';
import { genericGrowthCommands } from './generic-grow';
import { pickLink } from './network-context';

/**
 * `transplant generic create|show|run`, and `add-category`, `add-task`, `remove-category`:
 * a generic network that grows one specific network at a time, never changing what it knew.
 */
export function genericCommands(parent: Command, ctx: CommandContext): void {
  const context = () => genericContext(ctx);
  const generic = parent
    .command('generic')
    .description('generic networks: N category modules × M task modules, one adapter per link');
  generic
    .command('create')
    .description('a new generic network from specific networks (their modules and own links)')
    .requiredOption('--name <name>', 'the generic network name')
    .requiredOption('--from <networks>', 'comma-separated specific networks, e.g. bird-cls,bird-seg')
    .action(async (options: { name: string; from: string }) => {
      const { createGeneric, formatGenericChange } = await import('@transplant/distill');
      const change = await createGeneric(await context(), {
        name: options.name,
        from: options.from
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      });
      ctx.out(change, formatGenericChange(change));
    });
  generic
    .command('show')
    .description('the category × task matrix: which links exist, their adapter and held-out metric')
    .argument('<generic>', 'a generic network, e.g. animals or animals@1.2.0')
    .option('--png <file>', 'also draw the matrix as a PNG')
    .action(async (reference: string, flags: { png?: string }) => {
      const { formatGenericMatrix, showGeneric } = await import('@transplant/distill');
      const { composer } = await context();
      const shown = await showGeneric({ composer, reference, ...(flags.png ? { png: flags.png } : {}) });
      ctx.out(shown, `${formatGenericMatrix(shown)}${shown.png ? `\n\npicture: ${shown.png}` : ''}`);
    });
  generic
    .command('run')
    .description('run one link of a generic network on an image')
    .argument('<generic>', 'a generic network')
    .requiredOption('--category <module>', 'category module of the link')
    .requiredOption('--task <module>', 'task module of the link')
    .requiredOption('--image <file>', 'a JPEG or PNG')
    .option('--out <file>', 'seg: overlay PNG to write')
    .action(async (ref: string, options: { category: string; task: string; image: string; out?: string }) => {
      const [{ loadGeneric }, { formatPrediction, predictImage }] = await Promise.all([
        import('@transplant/distill'),
        import('@transplant/composer'),
      ]);
      const g = await loadGeneric((await context()).composer, ref);
      try {
        const result = await predictImage({
          network: g.network,
          link: pickLink(g.network, options),
          image: options.image,
          ...(options.out ? { out: options.out } : {}),
        });
        ctx.out(result, formatPrediction(result));
      } finally {
        g.network.dispose();
      }
    });

  genericGrowthCommands(parent, ctx);
}
