import { writeFileWhole } from '@transplant/core';
import { join, resolve } from 'node:path';
import type { Network } from '@transplant/composer';
import type { CategoryId } from '@transplant/data';
import { explainImage, type ImageExplanationReport } from './explain-image';
import { writeExplainReport, type ExplainReport } from './explain-report';
import { explainPerformer, type ExplainRunOptions } from './run';

/** The attachment kind an explanation report is kept under, on the network it explains (`explain --attach`). */
export const EXPLANATION_REPORT_ATTACHMENT = 'explanation-report';

export interface ExplainNetworkOptions extends Omit<ExplainRunOptions, 'keep'> {
  readonly network: Network;
  /** The link explained (its category module gives the input size of `image`). */
  readonly link: { readonly category: string; readonly task: string };
  /** The network's registry reference, for the report (`bird-cls@1.0.0`). */
  readonly reference: string;
  readonly category: CategoryId;
  /** Where the report, the heat maps and the image go. */
  readonly out: string;
  /** Also explain this image file. */
  readonly image?: string;
}

/**
 * The `explain` workflow (docs/methods.md §5): trains an explainer of the network
 * (`explainPerformer`), explains one image when asked, and writes the Markdown/HTML report with
 * the group heat maps; the explainer is disposed whatever happens.
 */
export async function explainNetwork(options: ExplainNetworkOptions): Promise<ExplainReport> {
  const { network, link, reference, category, out, image: file, ...settings } = options;
  const run = explainPerformer({ network, name: reference, category }, { ...settings, keep: true });
  let image: ImageExplanationReport | undefined;
  const dir = resolve(out);
  const heatmaps = join(dir, 'groups.png');
  try {
    await writeFileWhole(heatmaps, run.png, 'explain');
    if (file)
      image = await explainImage({
        network,
        link,
        explainer: run.explainer!,
        explanation: run.explanation,
        file,
        png: join(dir, 'image.png'),
        ...(settings.output === undefined ? {} : { output: settings.output }),
      });
  } finally {
    run.explainer?.dispose();
  }
  const report: ExplainReport = {
    network: reference,
    category,
    explained: run.explained.describe,
    p: run.p,
    stream: run.stream,
    steps: run.steps,
    converged: run.converged,
    fidelity: run.fidelity,
    groups: run.groups,
    talk: run.talk,
    filters: run.filters,
    ordinaryShare: run.ordinaryShare,
    reconstructionError: run.errors.both,
    ...(image ? { image } : {}),
    files: { markdown: join(dir, 'report.md'), html: join(dir, 'report.html'), heatmaps },
  };
  await writeExplainReport(report, run.explanation);
  return report;
}
