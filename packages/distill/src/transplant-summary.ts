import { TransplantError, encodeReport, isTransplantError, readReportBundle } from '@transplant/core';
import { annotationLine } from './bridge-calibration';
import { calibrationText, writeTransplantReport } from './report';
import { transplant, type TransplantOptions, type TransplantResult } from './transplant';

/** Where {@link transplantWithReport} writes the report, and the command line it quotes. */
export interface TransplantReportOptions {
  readonly dir: string;
  readonly command: string;
}

/** The attachment kind a published transplant's report is kept under, on the network it published. */
export const TRANSPLANT_REPORT_ATTACHMENT = 'transplant-report';

/**
 * The transplant command's workflow: {@link transplant}, then its report written into
 * `report.dir`; a published network also gets the report (Markdown and loss curve) attached as
 * `transplant-report`, so that it travels with the network (the hub shows it with its picture).
 * A resumed run that publishes nothing new attaches the report of this run in place of the last.
 */
export async function transplantWithReport(
  options: TransplantOptions & { readonly report: TransplantReportOptions },
): Promise<{ result: TransplantResult; report: string }> {
  const { report: where, ...transplantOptions } = options;
  const result = await transplant(transplantOptions);
  const report = await writeTransplantReport(where.dir, result, where.command);
  if (result.version !== undefined) {
    const published = `${result.network}@${result.version}`;
    try {
      await options.composer.registry.attach(published, {
        kind: TRANSPLANT_REPORT_ATTACHMENT,
        bytes: encodeReport(await readReportBundle(report)),
        replace: true,
      });
    } catch (cause) {
      // The network is published already: say so, and that the same command finishes the job
      // (its run folder resumes, publishes nothing new and attaches the report).
      throw new TransplantError(
        isTransplantError(cause) ? cause.code : 'E_INTERNAL',
        `${published} is published, but attaching its report failed: ${isTransplantError(cause) ? cause.detail : cause instanceof Error ? cause.message : String(cause)}; run the same command again to attach it`,
        { module: published, operation: 'transplant', cause },
      );
    }
  }
  return { result, report };
}

/**
 * A transplant as JSON: the result without its loss curve and per-image counts (the split and
 * the number of images stay), the final loss and the report's path.
 */
export function transplantSummary(result: TransplantResult, report: string) {
  // eslint-disable-next-line @typescript-eslint/no-unused-vars -- dropped from the JSON: per-image counts
  const { losses, evaluation, referenceEvaluation, ...summary } = result;
  return {
    ...summary,
    evaluation: { split: evaluation.split, images: evaluation.images.length },
    finalLoss: losses.at(-1),
    report,
  };
}

/** A transplant as lines of text: the network, its teacher, the metric on dev (or the final test), the report. */
export function formatTransplant(result: TransplantResult, report: string): string {
  return [
    `${result.network}${result.version ? `@${result.version} published` : ' (not published)'}: ${result.student.category} → ${result.adapter} → ${result.student.task}`,
    `teacher: ${result.teacher}`,
    ...(result.calibration ? [`calibration: ${calibrationText(result.calibration)}`] : []),
    `images: ${annotationLine(result.method, result.samples, result.calibration, result.knownNegatives)}`,
    `${result.evaluation.split === 'test' ? 'final-test' : 'dev'} ${result.metric.name} ${result.metric.value.toFixed(4)}${result.reference ? ` (the --to network's own head: ${result.reference.value.toFixed(4)})` : ''}`,
    `report: ${report}`,
  ].join('\n');
}
