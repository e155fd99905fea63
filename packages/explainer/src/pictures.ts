import { createCanvas } from '@napi-rs/canvas';
import type { RenderedSample } from '@transplant/data';
import { upsampleMap, type CellGeometry } from '@transplant/interpretable';
import type { Explanation, FilterGroup } from './explain';
import type { ExplainerCurve } from './train';

/**
 * Heat maps per filter group: one row per group (the largest shares first), one column per
 * image where the group carries most; each tile is the image with the group's summed,
 * upsampled interpretable activation blended in as heat.
 */
export function renderGroupHeatmaps(
  explanation: Explanation,
  options: {
    /** The explained images. */
    readonly samples: readonly RenderedSample[];
    readonly geometry: CellGeometry;
    readonly groups?: number;
    readonly images?: number;
    readonly zoom?: number;
    readonly title?: string;
  },
): Buffer {
  const { samples, geometry } = options;
  const rows = explanation.groups
    .filter((g) => g.group !== 'silent' && g.ofInterpretable > 0)
    .slice(0, options.groups ?? 5);
  const columns = options.images ?? 6;
  const zoom = options.zoom ?? 2;
  const size = samples[0]?.width ?? 64;
  const tile = size * zoom;
  const header = options.title ? 18 : 0;
  const caption = 14;
  const canvas = createCanvas(
    Math.max(columns * (tile + 2), 260),
    header + Math.max(rows.length, 1) * (tile + caption + 4),
  );
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#1e1e1e';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.font = '11px sans-serif';
  ctx.fillStyle = '#ffffff';
  if (options.title) ctx.fillText(options.title, 4, 13);
  const maps = { values: explanation.maps.values, shape: explanation.maps.shape };
  rows.forEach((g, row) => {
    const y0 = header + row * (tile + caption + 4);
    ctx.fillStyle = '#ffffff';
    ctx.fillText(
      `${g.filters} ${g.group} filters · ${(100 * g.share).toFixed(1)} % of the explained features`,
      2,
      y0 + 11,
    );
    const members = explanation.filters.filter((f) => f.group === g.group).map((f) => f.filter);
    const best = explanation.images
      .map((im) => ({
        i: im.index,
        share: im.groups.find((x) => x.group === (g.group as FilterGroup))?.share ?? 0,
      }))
      .sort((a, b) => b.share - a.share || a.i - b.i)
      .slice(0, columns);
    best.forEach(({ i }, col) => {
      const heat = new Float32Array(size * size);
      for (const f of members) {
        const up = upsampleMap(maps, i, f, geometry);
        for (let p = 0; p < heat.length; p++) heat[p]! += up[p]!;
      }
      let max = 0;
      for (const v of heat) max = Math.max(max, v);
      const sample = samples[i]!;
      const img = ctx.createImageData(size, size);
      for (let p = 0; p < size * size; p++) {
        const a = max > 0 ? Math.max(heat[p]!, 0) / max : 0;
        img.data[p * 4] = Math.round(sample.rgb[p * 3]! * (1 - a) + 255 * a);
        img.data[p * 4 + 1] = Math.round(sample.rgb[p * 3 + 1]! * (1 - a) + 40 * a);
        img.data[p * 4 + 2] = Math.round(sample.rgb[p * 3 + 2]! * (1 - a) + 20 * a);
        img.data[p * 4 + 3] = 255;
      }
      const small = createCanvas(size, size);
      small.getContext('2d').putImageData(img, 0, 0);
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(small, col * (tile + 2), y0 + caption, tile, tile);
    });
  });
  return canvas.toBuffer('image/png');
}

const PALETTE = ['#e6194b', '#3cb44b', '#4363d8', '#f58231', '#911eb4', '#42d4f4', '#f032e6', '#bfef45'];

/**
 * The training curves of explainer runs (docs/methods.md §5.3), two panels: the measured p and
 * the dev reconstruction error against the step, one line per run; runs sharing a `label`
 * (seeds of one performer) share a colour. Points without dev numbers are skipped.
 */
export function renderCurves(
  runs: readonly { readonly label: string; readonly curve: readonly ExplainerCurve[] }[],
  options: { readonly title?: string; readonly width?: number } = {},
): Buffer {
  const width = options.width ?? 900;
  const panel = { w: (width - 60) / 2, h: 260 };
  const top = 40;
  const labels = [...new Set(runs.map((r) => r.label))];
  const canvas = createCanvas(width, top + panel.h + 40 + 16 * Math.ceil(labels.length / 3));
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.font = '12px sans-serif';
  ctx.fillStyle = '#000000';
  if (options.title) ctx.fillText(options.title, 10, 16);
  const maxStep = Math.max(1, ...runs.flatMap((r) => r.curve.map((c) => c.step)));
  const errors = runs.flatMap((r) => r.curve.flatMap((c) => (c.devError === undefined ? [] : [c.devError])));
  const maxError = Math.max(0.05, ...errors) * 1.05;
  const panels = [
    { x0: 40, name: 'p (measured on dev images)', value: (c: ExplainerCurve) => c.p, max: 1 },
    {
      x0: 60 + panel.w,
      name: 'dev reconstruction error (1 = the mean)',
      value: (c: ExplainerCurve) => c.devError,
      max: maxError,
    },
  ];
  for (const { x0, name, value, max } of panels) {
    ctx.strokeStyle = '#888888';
    ctx.lineWidth = 1;
    ctx.strokeRect(x0, top, panel.w, panel.h);
    ctx.fillStyle = '#000000';
    ctx.fillText(name, x0, top - 6);
    for (const t of [0, 0.25, 0.5, 0.75, 1]) {
      const y = top + panel.h * (1 - t);
      ctx.fillText((t * max).toFixed(2), x0 - 34, y + 4);
    }
    ctx.fillText('0', x0, top + panel.h + 14);
    ctx.fillText(`${maxStep} steps`, x0 + panel.w - 60, top + panel.h + 14);
    runs.forEach((r) => {
      const points = r.curve.flatMap((c) => {
        const v = value(c);
        return v === undefined ? [] : [[x0 + (panel.w * c.step) / maxStep, top + panel.h * (1 - v / max)]];
      });
      ctx.strokeStyle = PALETTE[labels.indexOf(r.label) % PALETTE.length]!;
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      points.forEach(([x, y], i) => (i === 0 ? ctx.moveTo(x!, y!) : ctx.lineTo(x!, y!)));
      ctx.stroke();
    });
  }
  labels.forEach((label, i) => {
    const x = 40 + (i % 3) * ((width - 40) / 3);
    const y = top + panel.h + 34 + 16 * Math.floor(i / 3);
    ctx.fillStyle = PALETTE[i % PALETTE.length]!;
    ctx.fillRect(x, y - 9, 12, 10);
    ctx.fillStyle = '#000000';
    ctx.fillText(label, x + 16, y);
  });
  return canvas.toBuffer('image/png');
}
