import type { TransplantResult } from './transplant';

/** A transplant as lines of text: the network, its teacher, the held-out metric, the report. */
export function formatTransplant(result: TransplantResult, report: string): string {
  return [
    `${result.network}${result.version ? `@${result.version} published` : ' (not published)'}: ${result.student.category} → ${result.adapter} → ${result.student.task}`,
    `teacher: ${result.teacher}`,
    `held-out ${result.metric.name} ${result.metric.value.toFixed(4)}${result.reference ? ` (the --to network's own head: ${result.reference.value.toFixed(4)})` : ''}`,
    `report: ${report}`,
  ].join('\n');
}
