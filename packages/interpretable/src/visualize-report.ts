import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createCanvas } from '@napi-rs/canvas';
import type { UnitVisualization, VisualizationResult } from './visualize';

/** One optimized image as a PNG, `zoom` times its side, nearest-neighbour. */
export function renderVisualization(unit: UnitVisualization, size: number, zoom = 4): Buffer {
  const canvas = createCanvas(size * zoom, size * zoom);
  drawImage(canvas.getContext('2d'), unit.rgb, size, 0, 0, zoom);
  return canvas.toBuffer('image/png');
}

function drawImage(
  ctx: ReturnType<ReturnType<typeof createCanvas>['getContext']>,
  rgb: Uint8Array,
  size: number,
  x0: number,
  y0: number,
  zoom: number,
): void {
  const tile = createCanvas(size, size);
  const t = tile.getContext('2d');
  const img = t.createImageData(size, size);
  for (let p = 0; p < size * size; p++) {
    img.data[p * 4] = rgb[p * 3]!;
    img.data[p * 4 + 1] = rgb[p * 3 + 1]!;
    img.data[p * 4 + 2] = rgb[p * 3 + 2]!;
    img.data[p * 4 + 3] = 255;
  }
  t.putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(tile, x0, y0, size * zoom, size * zoom);
}

/** A PNG grid of the optimized images, `columns` per row, each captioned with its unit's label. */
export function renderVisualizationGrid(
  result: Pick<VisualizationResult, 'units' | 'size'>,
  options: { readonly columns?: number; readonly zoom?: number; readonly title?: string } = {},
): Buffer {
  const { size, units } = result;
  const zoom = options.zoom ?? Math.max(1, Math.round(96 / size));
  const columns = Math.max(1, Math.min(options.columns ?? 8, units.length));
  const tile = size * zoom;
  const caption = 14;
  const header = options.title ? 18 : 0;
  const rows = Math.max(1, Math.ceil(units.length / columns));
  // Wide enough for the title too (about 6.5 px per character of 11 px sans-serif).
  const titleWidth = options.title ? Math.ceil(options.title.length * 6.5) + 4 : 0;
  const canvas = createCanvas(
    Math.max(columns * (tile + 4), 160, titleWidth),
    header + rows * (tile + caption + 4),
  );
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#1e1e1e';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.font = '11px sans-serif';
  ctx.fillStyle = '#ffffff';
  if (options.title) ctx.fillText(options.title, 2, 13);
  units.forEach((u, i) => {
    const x0 = (i % columns) * (tile + 4);
    const y0 = header + Math.floor(i / columns) * (tile + caption + 4);
    ctx.fillStyle = '#ffffff';
    ctx.fillText(u.unit.label, x0 + 1, y0 + 11, tile);
    drawImage(ctx, u.rgb, size, x0, y0 + caption, zoom);
  });
  return canvas.toBuffer('image/png');
}

/** What a visualization report records besides the result. */
export interface VisualizationReportInfo {
  /** The network's registry reference. */
  readonly network: string;
  /** The module-qualified layer (or layers) the units are on. */
  readonly layer: string;
  /** `filter`, `node` or `group`. */
  readonly kind: string;
  /** The tensor back end the optimization ran on. */
  readonly backend: string;
  /** The settings, as given (steps, learning rate, …), for the record. */
  readonly settings: Readonly<Record<string, unknown>>;
}

/** The summary a report writes and a command prints (`--json`): no pixels. */
export interface VisualizationSummary extends VisualizationReportInfo {
  readonly size: number;
  readonly steps: number;
  readonly batch: number;
  readonly ms: number;
  readonly msPerUnit: number;
  readonly units: {
    readonly label: string;
    readonly channels: readonly number[];
    readonly cell?: readonly [number, number];
    readonly activation: number;
    readonly initialActivation: number;
  }[];
  readonly report: string;
  readonly grid: string;
}

/**
 * Writes `grid.png` (every unit's image), `visualize.md` (the grid, the settings, each unit's
 * objective before and after, the time per unit) and `visualize.json` into `dir`.
 */
export async function writeVisualizationReport(
  dir: string,
  result: VisualizationResult,
  info: VisualizationReportInfo,
): Promise<VisualizationSummary> {
  const out = resolve(dir);
  await mkdir(out, { recursive: true });
  const grid = join(out, 'grid.png');
  const report = join(out, 'visualize.md');
  await writeFile(
    grid,
    renderVisualizationGrid(result, { title: `${info.network} · ${info.layer} · ${info.kind}s` }),
  );
  const summary: VisualizationSummary = {
    ...info,
    size: result.size,
    steps: result.steps,
    batch: result.batch,
    ms: result.ms,
    msPerUnit: result.msPerUnit,
    units: result.units.map((u) => ({
      label: u.unit.label,
      channels: u.unit.channels,
      ...(u.unit.cell ? { cell: u.unit.cell } : {}),
      activation: u.activation,
      initialActivation: u.initialActivation,
    })),
    report,
    grid,
  };
  const f = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(1) : v.toPrecision(3));
  const markdown = [
    `# Feature visualization: ${info.network}, ${info.layer}`,
    '',
    `${result.units.length} ${info.kind}(s), one ${result.size}×${result.size} image each, optimized ${result.batch} at a time for ${result.steps} steps on the ${info.backend} back end: ${(result.ms / 1000).toFixed(2)} s in all, **${f(result.msPerUnit)} ms per unit** (measured).`,
    '',
    '![optimized images](grid.png)',
    '',
    'Each image maximizes its unit: a filter’s mean activation over the map, a graph node’s filter at the node’s mean position, or the sum of a part group’s filters. The objective is measured on the optimized image without the random transforms, and on the random starting image.',
    '',
    '| unit | channels | cell | objective at start | objective optimized |',
    '|---|---|---|---|---|',
    ...summary.units.map(
      (u) =>
        `| ${u.label} | ${u.channels.length > 8 ? `${u.channels.slice(0, 8).join(', ')}, … (${u.channels.length})` : u.channels.join(', ')} | ${u.cell ? `(${u.cell.map((v) => v.toFixed(1)).join(', ')})` : 'whole map'} | ${f(u.initialActivation)} | ${f(u.activation)} |`,
    ),
    '',
    '## Settings',
    '',
    ...Object.entries(info.settings).map(
      ([k, v]) => `- ${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`,
    ),
    '',
  ].join('\n');
  await writeFile(report, markdown);
  await writeFile(join(out, 'visualize.json'), `${JSON.stringify(summary, null, 2)}\n`);
  return summary;
}

/** The lines a command prints for a report. */
export function formatVisualizationSummary(s: VisualizationSummary): string {
  return [
    `${s.units.length} ${s.kind}(s) of ${s.layer} visualized in ${(s.ms / 1000).toFixed(2)} s: ${s.msPerUnit.toFixed(0)} ms per unit (${s.steps} steps, batches of ${s.batch}, ${s.backend})`,
    ...s.units.map(
      (u) => `  ${u.label}: objective ${u.initialActivation.toFixed(3)} → ${u.activation.toFixed(3)}`,
    ),
    `report: ${s.report}`,
    `grid: ${s.grid}`,
  ].join('\n');
}
