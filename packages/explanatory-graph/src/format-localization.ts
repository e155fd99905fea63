import { LOCALIZATION_METHODS, type FewShotResult, type LocalizationMethod } from './evaluate';

const NAMES: Record<LocalizationMethod, string> = {
  graph: 'graph',
  'filter-best': 'best filter',
  'filter-ensemble': 'filters',
  'pooled-linear': 'pooled+linear',
  'filter-ensemble-aligned': 'filters (aligned)',
  'pooled-linear-aligned': 'pooled+linear (aligned)',
};

/** Few-shot results as a text table: one row per part and K, one column per method. */
export function formatLocalization(results: readonly FewShotResult[]): string[] {
  return [
    `  part        K  ${LOCALIZATION_METHODS.map((m) => NAMES[m].padStart(12)).join(' ')}`,
    ...results.map(
      (r) =>
        `  ${r.part.padEnd(10)} ${String(r.k).padStart(2)}  ${LOCALIZATION_METHODS.map((m) => r.distance[m].toFixed(3).padStart(12)).join(' ')}`,
    ),
  ];
}

/** What `graph localize` reports: the network, the category, the few-shot results and the picture drawn. */
export interface LocalizationReport {
  readonly network: string;
  readonly category: string;
  readonly results: readonly FewShotResult[];
  readonly png?: string;
}

/** A localization report as text: a header with the draws and test crops, the table, the picture. */
export function formatLocalizationReport(
  report: LocalizationReport,
  settings: { readonly draws: number; readonly test: number },
): string {
  return [
    `${report.network} · ${report.category} · normalized distance (lower is better), ${settings.draws} draws, ${settings.test} test crops`,
    ...formatLocalization(report.results),
    ...(report.png ? [`  picture ${report.png}`] : []),
  ].join('\n');
}
