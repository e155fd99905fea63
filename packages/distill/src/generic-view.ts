import { writeFileWhole } from '@transplant/core';
import { resolve } from 'node:path';
import { createCanvas } from '@napi-rs/canvas';
import type { Composer } from '@transplant/composer';
import { genericMatrix, loadGeneric, type GenericChange, type GenericMatrix } from './generic';

/** The matrix as text: one row per category module, one column per task module. */
export function formatGenericMatrix(m: GenericMatrix): string {
  const cell = (category: string, task: string) => {
    const c = m.cells.find((x) => x.category === category && x.task === task);
    if (!c) return '—';
    return `${c.adapter ? 'adapter' : 'direct'}${c.metric ? ` ${c.metric.name} ${c.metric.value.toFixed(4)}` : ''}`;
  };
  return [
    `${m.name}@${m.version}: ${m.categories.length} categories × ${m.tasks.length} tasks, ${m.cells.length} links`,
    '',
    `| category \\ task | ${m.tasks.join(' | ')} |`,
    `|---|${m.tasks.map(() => '---|').join('')}`,
    ...m.categories.map((c) => `| ${c} | ${m.tasks.map((t) => cell(c, t)).join(' | ')} |`),
  ].join('\n');
}

/** The matrix as a PNG: green where a link exists (darker is better), its metric written in the cell. */
export function genericMatrixPng(m: GenericMatrix): Buffer {
  const cellW = 150;
  const cellH = 34;
  const left = 190;
  const top = 60;
  const canvas = createCanvas(left + cellW * m.tasks.length + 10, top + cellH * m.categories.length + 10);
  const g = canvas.getContext('2d');
  g.fillStyle = '#ffffff';
  g.fillRect(0, 0, canvas.width, canvas.height);
  g.fillStyle = '#222';
  g.font = 'bold 14px sans-serif';
  g.fillText(`${m.name}@${m.version}`, 8, 20);
  g.font = '12px sans-serif';
  m.tasks.forEach((t, j) => g.fillText(t.slice(0, 22), left + j * cellW + 4, top - 8));
  m.categories.forEach((c, i) => {
    g.fillStyle = '#222';
    g.fillText(c.slice(0, 28), 8, top + i * cellH + cellH / 2 + 4);
    m.tasks.forEach((t, j) => {
      const cell = m.cells.find((x) => x.category === c && x.task === t);
      const x = left + j * cellW;
      const y = top + i * cellH;
      // Quality in [0, 1]: 1 − error rate, or the IoU.
      const q = cell?.metric
        ? cell.metric.name === 'error-rate'
          ? 1 - cell.metric.value
          : cell.metric.value
        : undefined;
      g.fillStyle = !cell
        ? '#eeeeee'
        : q === undefined
          ? '#b7d7b0'
          : `hsl(120, 45%, ${Math.round(85 - 45 * Math.max(0, Math.min(1, q)))}%)`;
      g.fillRect(x + 1, y + 1, cellW - 2, cellH - 2);
      g.fillStyle = q !== undefined && q > 0.6 ? '#ffffff' : '#222';
      g.fillText(
        cell
          ? `${cell.adapter ? 'adapter' : 'direct'}${cell.metric ? ` ${cell.metric.name === 'error-rate' ? 'err' : cell.metric.name} ${cell.metric.value.toFixed(3)}` : ''}`
          : 'no link',
        x + 6,
        y + cellH / 2 + 4,
      );
    });
  });
  return canvas.toBuffer('image/png');
}

/** A change to a generic network as text: each link's fate and the guard. */
export function formatGenericChange(c: GenericChange): string {
  const lines = c.links.map(
    (l) =>
      `  ${l.link}: ${l.status}${l.method ? ` (${l.method})` : ''}${l.metric ? ` ${l.metric.name} ${l.metric.value.toFixed(4)}` : ''}${l.annotatedImages !== undefined ? `, ${l.annotatedImages} annotated images, ${l.knownNegatives} negatives known by construction${l.calibration ? `, ${l.calibration.mode} calibration` : ''}` : ''}${l.reason ? ` — ${l.reason}` : ''}`,
  );
  const guard =
    c.guarded.length > 0
      ? `\n  ${c.guarded.length} existing links re-run on the probe images: bit-identical`
      : '';
  return `published ${c.name}@${c.version} (${c.wallSeconds.toFixed(1)} s)\n${lines.join('\n')}${guard}`;
}

export interface ShowGenericOptions {
  readonly composer: Composer;
  /** A generic network, e.g. `animals` or `animals@1.2.0`. */
  readonly reference: string;
  /** Also draw the matrix as a PNG here. */
  readonly png?: string;
}

/** The category × task matrix of a generic network (the network is disposed), drawn when asked. */
export async function showGeneric(options: ShowGenericOptions): Promise<GenericMatrix & { png?: string }> {
  const g = await loadGeneric(options.composer, options.reference);
  try {
    const matrix = genericMatrix(g);
    if (!options.png) return matrix;
    const png = resolve(options.png);
    await writeFileWhole(png, genericMatrixPng(matrix), 'generic');
    return { ...matrix, png };
  } finally {
    g.network.dispose();
  }
}
