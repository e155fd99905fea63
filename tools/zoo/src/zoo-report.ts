import type { ZooEntryResult } from './zoo-entry';

/** The zoo's metric table, as Markdown. */
export function formatZooTable(results: readonly ZooEntryResult[]): string {
  const rows = results.map((r) => {
    const metrics = r.metrics.map((m) => `${m.name} ${m.value.toFixed(4)}`).join(', ');
    return `| ${r.network}@${r.version} | ${metrics} | ${r.steps} | ${r.wallSeconds.toFixed(0)} s | ${r.backend} | ${r.status} |`;
  });
  return [
    '| network | held-out metrics | steps | training wall time | back end | this run |',
    '|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}
