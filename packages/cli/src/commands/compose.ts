import type { Command } from 'commander';
import type { LinkRefs } from '@transplant/composer';
import { TransplantError } from '@transplant/core/options';
import type { CommandContext } from './command-context';
import { commandComposer } from './network-context';
import { exactVersion } from './parse-options';

/** `--link CATEGORY:TASK[:ADAPTER]` (module references) → a link. */
function parseLink(text: string): LinkRefs {
  const parts = text.split(':');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => p.length === 0)) {
    throw new TransplantError(
      'E_USAGE',
      `--link "${text}" must be CATEGORY:TASK or CATEGORY:TASK:ADAPTER (module references)`,
      { operation: 'compose' },
    );
  }
  return { category: parts[0]!, task: parts[1]!, ...(parts[2] ? { adapter: parts[2] } : {}) };
}

/** `transplant compose`: a network composed from published modules and published as a composition. */
export function composeCommand(parent: Command, ctx: CommandContext): void {
  parent
    .command('compose')
    .description('build a network from module references, check it, and publish it as a composition')
    .requiredOption('--name <name>', 'the network name')
    .requiredOption(
      '--link <category:task[:adapter]...>',
      'a link; repeat for a generic network',
      (v: string, all: string[] = []) => [...all, v],
    )
    .option('--version <semver>', 'version to publish', '1.0.0')
    .action(async (flags: { name: string; link: string[]; version: string }) => {
      const version = await exactVersion(flags.version, 'version', 'compose');
      const { composeNetwork } = await import('@transplant/composer');
      const published = await composeNetwork({
        composer: await commandComposer(ctx, { write: true }),
        name: flags.name,
        version,
        links: flags.link.map(parseLink),
        generatedBy: ctx.services().generatedBy,
        summary: `composed by transplant compose from ${flags.link.join(', ')}`,
      });
      ctx.out(
        published,
        `published ${published.name}@${published.version}: ${published.links.map((l) => `${l.category} →${l.adapter ? ` ${l.adapter} →` : ''} ${l.task}`).join('; ')}`,
      );
    });
}

/** `transplant plugins`: the module plugin families, with their kind and default options. */
export function pluginsCommand(parent: Command, ctx: CommandContext): void {
  parent
    .command('plugins')
    .description('list the module plugin families, with their kind and default options')
    .action(() => {
      const list = ctx
        .services()
        .plugins.list()
        .map((p) => ({
          family: p.family,
          version: p.version,
          kind: p.kind,
          ...(p.task ? { task: p.task } : {}),
          description: p.description,
          defaults: { ...new p.optionsSchema() },
        }));
      ctx.out(
        list,
        list
          .map(
            (p) =>
              `${p.family}@${p.version}  ${p.kind}${p.task ? `/${p.task}` : ''}  ${p.description}\n  defaults ${JSON.stringify(p.defaults)}`,
          )
          .join('\n'),
      );
    });
}
