import { createCanvas } from '@napi-rs/canvas';
import type { RenderedSample } from '@transplant/data';
import { upsampleMap, type CellGeometry } from '@transplant/interpretable';
import type { Explanation, FilterGroup } from './explain';

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
