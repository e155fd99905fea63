import { PAPER_AVERAGE } from './paper-numbers';

export interface Cell {
  readonly mode: 'inserted' | 'transplanted';
  readonly category: string;
  readonly from: string;
  /** The exact networks used, `cat-cls@1.1.0` (cells from before versions were recorded used 1.0.0 throughout). */
  readonly networks?: { readonly from: string; readonly to: string };
  readonly layers: 1 | 3;
  readonly samples: number;
  readonly method: 'ol' | 'bd' | 'kd';
  readonly error: number;
  readonly seconds: number;
  /** Training steps of the cell (cells from before steps were recorded ran the file's `legacySteps`). */
  readonly steps?: number;
}

/** Steps of cells written before each cell recorded its own (the whole table ran 300). */
export const LEGACY_STEPS = 300;
export const cellSteps = (c: Cell): number => c.steps ?? LEGACY_STEPS;

/** The versions a cell was computed with: recorded ones, or 1.0.0 (the only zoo version before they were recorded). */
export const cellNetworks = (c: Cell): { from: string; to: string } =>
  c.networks ?? { from: `${c.from}@1.0.0`, to: `${c.category}-cls@1.0.0` };

export const cellKey = (c: Pick<Cell, 'mode' | 'category' | 'layers' | 'samples' | 'method'>) =>
  `${c.mode}/${c.category}/conv${c.layers}/${c.samples}/${c.method}`;

/** One Markdown table per mode and adapter, in the form of docs/methods.md §9.1, the paper's average beside ours. */
export function formatPaperTables(
  cells: readonly Cell[],
  categories: readonly string[],
  samples: readonly number[],
): string {
  const out: string[] = [];
  for (const mode of ['inserted', 'transplanted'] as const) {
    for (const layers of [1, 3] as const) {
      const mine = cells.filter((c) => c.mode === mode && c.layers === layers);
      if (mine.length === 0) continue;
      const networks = categories.map((c) => {
        const used = [
          ...new Set(
            mine
              .filter((m) => m.category === c)
              .map((m) =>
                mode === 'transplanted'
                  ? `${cellNetworks(m).to} ← ${cellNetworks(m).from}`
                  : cellNetworks(m).to,
              ),
          ),
        ];
        return used.length > 0 ? used.join(' / ') : `${c}: …`;
      });
      const from = ` (${mode === 'transplanted' ? 'target ← task module from' : 'networks'}: ${networks.join(', ')})`;
      const steps = [...new Set(mine.map(cellSteps))].sort((a, b) => a - b).join(' / ');
      out.push(
        `### ${mode === 'inserted' ? 'Adapter inserted into the category’s own network' : 'Real transplants'}: ${layers} conv + ReLU, ${steps} steps per cell${from}`,
        '',
      );
      out.push(
        `| samples | method | ${categories.join(' | ')} | avg | paper avg |`,
        `|---|---|${categories.map(() => '---|').join('')}---|---|`,
      );
      for (const n of samples) {
        for (const method of ['ol', 'bd', 'kd'] as const) {
          const row = categories.map((c) =>
            mine.find((m) => m.category === c && m.samples === n && m.method === method),
          );
          if (row.every((r) => r === undefined)) continue;
          const values = row.filter((r): r is Cell => r !== undefined).map((r) => 100 * r.error);
          const avg =
            values.length === categories.length
              ? (values.reduce((a, b) => a + b, 0) / values.length).toFixed(2)
              : '…';
          const paper = method === 'kd' ? undefined : PAPER_AVERAGE[String(layers) as '1' | '3'][method][n];
          out.push(
            `| ${n} | ${method.toUpperCase()} | ${row.map((r) => (r ? (100 * r.error).toFixed(2) : '…')).join(' | ')} | ${avg} | ${paper?.toFixed(2) ?? '–'} |`,
          );
        }
      }
      out.push('');
    }
  }
  return out.join('\n');
}
