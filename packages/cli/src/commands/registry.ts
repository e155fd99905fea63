import { resolve } from 'node:path';
import type { Command } from 'commander';
import { resolveRegistryLocation } from '@transplant/platform/options';
import type { Registry } from '@transplant/registry';
import { openCommandRegistry, type CommandContext } from './command-context';
import { usage } from './parse-options';
import { registryMaintenanceCommands } from './registry-maintenance';
import { registryQueryCommands } from './registry-query';

async function splitVersion(ref: string): Promise<{ name: string; version: string }> {
  const { parseModuleRef } = await import('@transplant/core/refs');
  const parsed = parseModuleRef(ref);
  if (parsed.selector.type !== 'version')
    throw usage(`"${ref}" must name an exact version, e.g. cat-vgg@1.2.0`, 'registry');
  return { name: parsed.name, version: parsed.selector.version };
}

/**
 * `transplant registry …`: init, publish, resolve, list, info, yank, unyank, verify, gc, push, pull.
 * Made with `parent.command()` so that it inherits the program's exit and output settings.
 */
export function registryCommand(parent: Command, ctx: CommandContext): Command {
  const open = (location?: string, options?: { readonly write?: boolean }): Promise<Registry> =>
    openCommandRegistry(ctx, location, options);
  const cmd = parent
    .command('registry')
    .description('publish, resolve, verify and copy modules (--registry picks the registry)');
  cmd
    .command('init')
    .description(
      'make an empty folder registry at --registry (reads refuse a folder that does not exist: E_REGISTRY_NOT_FOUND)',
    )
    .action(async () => {
      const location = resolveRegistryLocation(ctx.globals().registry, ctx.env).location;
      const { store } = await ctx.services().openRegistry(location, { create: true });
      if (!store.init) {
        throw usage(
          `${store.location} is not a folder; \`registry init\` makes folder registries (an OCI registry's repositories are made by its server when modules are pushed)`,
          'registry init',
        );
      }
      const state = await store.init();
      ctx.out(
        { location: store.location, created: state === 'created' },
        state === 'created'
          ? `created an empty registry at ${store.location}`
          : `${store.location} is already a registry`,
      );
    });
  cmd
    .command('publish <module-folder>')
    .description(
      'publish a module folder (manifest.json + weights.bin); a version is immutable once published',
    )
    .action(async (folder: string) => {
      const { readModuleFolder } = await import('@transplant/registry');
      const result = await (
        await open(undefined, { write: true })
      ).publish(await readModuleFolder(resolve(folder)));
      ctx.out(result, `published ${result.name}@${result.version} (weights ${result.weightsDigest})`);
    });
  registryQueryCommands(cmd, open, ctx);
  for (const [verb, yanked] of [
    ['yank', true],
    ['unyank', false],
  ] as const) {
    cmd
      .command(`${verb} <name@version>`)
      .description(
        yanked
          ? 'hide a version from ranges and tags (an exact pin still gets it, with a warning)'
          : 'undo a yank',
      )
      .action(async (ref: string) => {
        const { name, version } = await splitVersion(ref);
        await (await open()).setYanked(name, version, { yanked });
        ctx.out({ name, version, yanked }, `${name}@${version} ${yanked ? 'yanked' : 'unyanked'}`);
      });
  }
  registryMaintenanceCommands(cmd, open, ctx);
  return cmd;
}
