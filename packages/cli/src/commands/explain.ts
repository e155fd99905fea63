import { join } from 'node:path';
import type { Command } from 'commander';
import { TransplantError } from '@transplant/core/options';
import { EXPLAIN_COMMAND_DEFAULTS } from '@transplant/explainer/options';
import type { Progress } from '../progress';
import { selectCommandBackend, type CommandContext } from './command-context';
import { resumableOptions, withRunFolder } from './long-run';
import { categoryOf, withNetwork } from './network-context';
import { integer, integers, nonNegative, usage } from './parse-options';

export type { ExplainReport } from '@transplant/explainer';

interface ExplainFlags {
  net: string;
  image?: string;
  out?: string;
  category?: string;
  steps: string;
  eta: string;
  decision: string;
  filters: string;
  pool: string;
  images: string;
  test: string;
  seed: string;
  scenes?: boolean;
  class?: string;
  restart?: boolean;
  attach?: boolean;
  replace?: boolean;
}

/** `transplant explain --net bird-cls [--image x.png]`: trains an explainer of the network and writes the report. */
export function explainCommand(parent: Command, ctx: CommandContext): void {
  const d = EXPLAIN_COMMAND_DEFAULTS;
  resumableOptions(parent.command('explain'))
    .description(
      'explain a classification network: how much of its features are object parts (p), which part groups carry them, the shares of parts, textures, background and what is not interpretable, and the fidelity of the explanation; writes a Markdown/HTML report with heat maps',
    )
    .requiredOption('--net <ref>', 'a network in the registry, e.g. bird-cls')
    .option('--image <file>', 'also explain one image: which part groups drove this prediction')
    .option('--out <dir>', 'where the report goes (default reports/explain-NET)')
    .option('--category <id>', 'images of this category (default: the category module’s)')
    .option(
      '--class <k|name>',
      'a head with several outputs: the class explained, by index from 0 or by the head’s output name; its log-odds against the other classes is the explained logit (docs/methods.md §5.2)',
    )
    .option(
      '--steps <n>',
      'explainer training steps at most (it stops earlier once p and the error settle)',
      String(d.steps),
    )
    .option(
      '--eta <w>',
      'weight of −log g on the fusion gate (the paper’s term; 0: the gate stays at 0.5, p is measured)',
      String(d.eta),
    )
    .option(
      '--decision <w>',
      'weight of the term that makes the interpretable track alone give the performer’s logits (0: the paper’s losses only)',
      String(d.decision),
    )
    .option('--filters <n>', 'filters per track', String(d.filters))
    .option('--pool <n>', 'unlabelled images the explainer learns from', String(d.pool))
    .option('--images <n>', 'annotated images the explanation is computed on', String(d.images))
    .option('--test <n>', 'labelled images for fidelity', String(d.test))
    .option('--scenes', 'whole scenes instead of object crops')
    .option('--seed <n>', 'seed of the images and of the explainer', String(d.seed))
    .option(
      '--attach',
      'attach the report (Markdown and pictures) to the network’s version in the registry, as explanation-report',
    )
    .option('--replace', 'with --attach: replace a report attached before')
    .action(async (flags: ExplainFlags) => {
      const eta = nonNegative(flags.eta, 'eta', 'explain');
      const decision = nonNegative(flags.decision, 'decision', 'explain');
      const counts = integers(
        flags,
        { steps: 1, filters: 1, pool: 4, images: 2, test: 2, seed: 0 },
        'explain',
      );
      const output = flags.class === undefined ? undefined : classOf(flags.class);
      const settings = {
        ...counts,
        eta,
        decision,
        crop: flags.scenes !== true,
        ...(output === undefined ? {} : { output }),
      };
      if (flags.replace && !flags.attach) throw usage('--replace goes with --attach', 'explain');
      const { explainNetwork, formatExplainReport, EXPLANATION_REPORT_ATTACHMENT } =
        await import('@transplant/explainer');
      let bar: Progress | undefined;
      await withNetwork(ctx, flags.net, async ({ network, manifest, link, registry }) => {
        const reference = `${manifest.name}@${manifest.version}`;
        // A report attached before is refused now, before minutes of training, not after them.
        const previous = flags.attach
          ? (await registry.index(manifest.name)).versions[manifest.version]?.attachments?.[
              EXPLANATION_REPORT_ATTACHMENT
            ]
          : undefined;
        if (previous && !flags.replace)
          throw new TransplantError(
            'E_VERSION_EXISTS',
            `${reference} already has an ${EXPLANATION_REPORT_ATTACHMENT} attachment (${previous.digest.slice(0, 19)}…, ${previous.attachedAt}); pass --replace to replace it`,
            { module: reference, operation: 'explain' },
          );
        const category = categoryOf(network, link, flags.category, 'explain');
        const backend = (await selectCommandBackend(ctx)).id;
        const inputs = { reference, category, settings, image: flags.image ?? null };
        await withRunFolder(
          ctx,
          { command: 'explain', inputs, restart: flags.restart === true, backend },
          async (run) => {
            const report = await explainNetwork({
              ...settings,
              network,
              link,
              reference,
              category,
              out: flags.out ?? join('reports', `explain-${manifest.name}`),
              ...(flags.image ? { image: flags.image } : {}),
              log: (line) => ctx.err(`${line}\n`),
              progress: (step, error) => {
                // Training may stop early once p and the error settle: the bar then ends where it stopped.
                bar ??= ctx.progress({ label: 'explainer step', total: counts.steps, every: counts.steps });
                bar.update(step, { error });
              },
              checkpoint: { directory: run.path('explainer'), every: run.every, note: run.note },
            });
            if (!flags.attach) return { report };
            // The report travels with the network: the hub shows it with its pictures.
            const { encodeReport, readReportBundle } = await import('@transplant/core');
            const attached = await registry.attach(reference, {
              kind: EXPLANATION_REPORT_ATTACHMENT,
              bytes: encodeReport(await readReportBundle(report.files.markdown)),
              replace: flags.replace === true,
            });
            return { report, attached: { kind: EXPLANATION_REPORT_ATTACHMENT, ...attached } };
          },
          ({ report, attached }) => {
            bar?.done();
            const text = formatExplainReport(report);
            if (!attached) ctx.out(report, text);
            else
              ctx.out(
                { ...report, attached },
                `${text}\nattached: ${attached.kind} of ${attached.name}@${attached.version} (${attached.digest})`,
              );
          },
        );
      });
    });
}

/** `--class`: an index (digits) or an output name; whether the head has it is the explainer's check. */
function classOf(value: string): number | string {
  if (/^\d+$/.test(value)) return integer(value, 'class', 0, 'explain');
  if (value.trim() === '') throw usage('--class needs an output index or name', 'explain');
  return value;
}
