import type { Command } from 'commander';
import { TransplantError } from '@transplant/core/options';
import type { Registry } from '@transplant/registry';
import type { CommandContext } from './command-context';
import { integer } from './parse-options';

/** `transplant registry verify | gc | push | pull`: checks, clean-up and copies between registries. */
export function registryMaintenanceCommands(
  cmd: Command,
  open: (location?: string, options?: { readonly write?: boolean }) => Promise<Registry>,
  ctx: CommandContext,
): void {
  cmd
    .command('verify')
    .description(
      'read every blob and check it against its digest; exits 1 when anything is missing or corrupt',
    )
    .action(async () => {
      const report = await (await open()).verify();
      ctx.out(
        report,
        [
          `${report.modules} modules, ${report.versions} versions, ${report.blobs} blobs checked`,
          ...report.problems.map((p) => `  ${p.problem}: ${p.digest}${p.module ? ` (${p.module})` : ''}`),
        ].join('\n'),
      );
      if (report.problems.length > 0) {
        throw new TransplantError('E_REGISTRY_CORRUPT', `${report.problems.length} problems`, {
          operation: 'verify',
          details: report.problems,
        });
      }
    });
  cmd
    .command('gc')
    .description('delete blobs no version references (older than the grace period)')
    .option(
      '--grace-ms <ms>',
      'keep unreferenced blobs younger than this (in-flight publishes)',
      String(3_600_000),
    )
    .action(async (options: { graceMs: string }) => {
      const graceMs = integer(options.graceMs, 'grace-ms', 0, 'registry gc');
      const result = await (await open()).gc({ graceMs });
      ctx.out(result, `deleted ${result.deleted.length} blobs, swept ${result.swept} leftovers`);
    });
  cmd
    .command('push <ref>')
    .description('copy a module (and its dependencies) from --registry to another registry')
    .requiredOption('--to <location>', 'target: a folder or oci://host/namespace')
    .action(async (ref: string, options: { to: string }) => {
      const { copyModule } = await import('@transplant/registry');
      const result = await copyModule(await open(), await open(options.to, { write: true }), ref);
      ctx.out(
        result,
        `copied ${result.copied.join(', ') || 'nothing'}${result.present.length ? `; already there: ${result.present.join(', ')}` : ''}`,
      );
    });
  cmd
    .command('pull <ref>')
    .description('copy a module (and its dependencies) from another registry into --registry')
    .requiredOption('--from <location>', 'source: a folder or oci://host/namespace')
    .action(async (ref: string, options: { from: string }) => {
      const { copyModule } = await import('@transplant/registry');
      const result = await copyModule(await open(options.from), await open(undefined, { write: true }), ref);
      ctx.out(
        result,
        `copied ${result.copied.join(', ') || 'nothing'}${result.present.length ? `; already there: ${result.present.join(', ')}` : ''}`,
      );
    });
}
