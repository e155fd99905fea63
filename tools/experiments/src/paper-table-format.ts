import { PAPER_AVERAGE } from './paper-numbers';

export interface Cell {
  readonly mode: 'inserted' | 'transplanted';
  readonly category: string;
  readonly from: string;
  readonly layers: 1 | 3;
  readonly samples: number;
  readonly method: 'ol' | 'bd' | 'kd';
  readonly error: number;
  readonly seconds: number;
}

export const cellKey = (c: Pick<Cell, 'mode' | 'category' | 'layers' | 'samples' | 'method'>) => `${c.mode}/${c.category}/conv${c.layers}/${c.samples}/${c.method}`;

/** One Markdown table per mode and adapter, in the form of methods.md §9.1, the paper's average beside ours. */
export function formatPaperTables(cells: readonly Cell[], categories: readonly string[], samples: readonly number[]): string {
  const out: string[] = [];
  for (const mode of ['inserted', 'transplanted'] as const) {
    for (const layers of [1, 3] as const) {
      const mine = cells.filter((c) => c.mode === mode && c.layers === layers);
      if (mine.length === 0) continue;
      const from = mode === 'transplanted' ? ` (task module from: ${categories.map((c) => `${c} ← ${mine.find((m) => m.category === c)?.from ?? '?'}`).join(', ')})` : '';
      out.push(`### ${mode === 'inserted' ? 'Adapter inserted into the category’s own network' : 'Real transplants'}: ${layers} conv + ReLU${from}`, '');
      out.push(`| samples | method | ${categories.join(' | ')} | avg | paper avg |`, `|---|---|${categories.map(() => '---|').join('')}---|---|`);
      for (const n of samples) {
        for (const method of ['ol', 'bd', 'kd'] as const) {
          const row = categories.map((c) => mine.find((m) => m.category === c && m.samples === n && m.method === method));
          if (row.every((r) => r === undefined)) continue;
          const values = row.filter((r): r is Cell => r !== undefined).map((r) => 100 * r.error);
          const avg = values.length === categories.length ? (values.reduce((a, b) => a + b, 0) / values.length).toFixed(2) : '…';
          const paper = method === 'kd' ? undefined : PAPER_AVERAGE[String(layers) as '1' | '3'][method][n];
          out.push(`| ${n} | ${method.toUpperCase()} | ${row.map((r) => (r ? (100 * r.error).toFixed(2) : '…')).join(' | ')} | ${avg} | ${paper?.toFixed(2) ?? '–'} |`);
        }
      }
      out.push('');
    }
  }
  return out.join('\n');
}
