import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { Registry } from '@transplant/registry';
import { LOCKFILE_NAME } from '@transplant/registry/options';
import type { CommandContext } from './command-context';

/** `transplant registry resolve | list | info`: what the registry holds, and pinning it in a lockfile. */
export function registryQueryCommands(
  cmd: Command,
  open: (location?: string) => Promise<Registry>,
  ctx: CommandContext,
): void {
  cmd
    .command('resolve <refs...>')
    .description('resolve NAME@RANGE references to versions and digests, and pin them in the lockfile')
    .option('--lockfile <path>', 'lockfile to write', LOCKFILE_NAME)
    .action(async (refs: string[], options: { lockfile: string }) => {
      const { recordInLockfile } = await import('@transplant/registry');
      const registry = await open();
      const entries = [];
      for (const ref of refs) entries.push({ ref, resolved: await registry.resolve(ref) });
      for (const e of entries) if (e.resolved.warning) ctx.err(`warning: ${e.resolved.warning}\n`);
      const lockfile = await recordInLockfile(resolve(options.lockfile), entries, {
        generatedBy: ctx.services().generatedBy,
        registry: registry.store.location,
      });
      ctx.out(
        {
          resolved: entries.map((e) => ({ ref: e.ref, version: e.resolved.version, ...e.resolved.entry })),
          lockfile: resolve(options.lockfile),
        },
        [
          ...entries.map((e) => `${e.ref} → ${e.resolved.version} (${e.resolved.entry.weightsDigest})`),
          `pinned in ${resolve(options.lockfile)} (${Object.keys(lockfile.modules).length} entries)`,
        ].join('\n'),
      );
    });
  cmd
    .command('list')
    .description(
      'list the networks and modules in the registry, with the held-out metrics of their latest version',
    )
    .action(async () => {
      const { listWithMetrics } = await import('@transplant/registry');
      const modules = await listWithMetrics(await open());
      const line = (m: (typeof modules)[number]) =>
        `${m.name.padEnd(24)} ${(m.kind ?? '').padEnd(9)} ${(m.latest ?? '—').padEnd(8)} ${m.metrics.map((x) => `${x.name} ${x.value.toFixed(4)}`).join(', ')}${m.versions > 1 ? `  (${m.versions} versions)` : ''}`;
      ctx.out(
        modules,
        modules.length === 0
          ? '(no modules)'
          : [
              `${'name'.padEnd(24)} ${'kind'.padEnd(9)} ${'latest'.padEnd(8)} metrics`,
              ...modules.map(line),
            ].join('\n'),
      );
    });
  cmd
    .command('info <name>')
    .description('versions, dist-tags and the module card of the latest version')
    .action(async (name: string) => {
      const { digestOf } = await import('@transplant/registry');
      const registry = await open();
      const index = await registry.index(name);
      const latest = index.distTags['latest'];
      // The card is the manifest; the weights are hashed by streaming (never held whole), so a
      // damaged version is reported here too.
      const opened = latest ? await registry.openWeights(`${name}@${latest}`) : undefined;
      if (opened) await digestOf(opened.weights);
      const card = opened?.manifest;
      const lines = [
        `${name}: ${Object.keys(index.versions).length} versions; dist-tags ${JSON.stringify(index.distTags)}`,
        ...Object.entries(index.versions).flatMap(([v, e]) => [
          `  ${v}${e.yanked ? ' (yanked)' : ''}  ${e.kind}  ${e.weightsDigest}  ${e.publishedAt}`,
          ...Object.entries(e.attachments ?? {}).map(
            ([kind, a]) => `    attached ${kind}  ${a.digest}  ${a.size} bytes  ${a.attachedAt}`,
          ),
        ]),
        ...(card
          ? [`card of ${latest}:`, ...card.card.metrics.map((m) => `  ${m.name} = ${m.value} on ${m.on}`)]
          : []),
      ];
      ctx.out({ index, manifest: card }, lines.join('\n'));
    });
}
