import { createCanvas } from '@napi-rs/canvas';
import { partNameOf, type LayerInterpretation, type PartImages } from './interpret';
import { peaks, upsampleMap } from './metrics';

export interface HeatmapOptions {
  /** How many filters (rows): the most part-interpretable ones, then by peak activation. */
  readonly filters?: number;
  /** Images per filter (columns): where the filter fires most. */
  readonly images?: number;
  readonly zoom?: number;
  readonly title?: string;
}

/** The filters a picture shows: by part interpretability, ties by mean peak activation. */
export function topFilters(
  interp: LayerInterpretation,
  count: number,
  score = peaks(interp.maps).score,
): number[] {
  const [n, , , c] = interp.maps.shape;
  const meanPeak = Array.from({ length: c }, (_, f) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += Math.max(score[i * c + f]!, 0);
    return s / n;
  });
  return Array.from({ length: c }, (_, f) => f)
    .filter((f) => meanPeak[f]! > 0)
    .sort(
      (a, b) =>
        interp.interpretability.perFilter[b]!.score - interp.interpretability.perFilter[a]!.score ||
        meanPeak[b]! - meanPeak[a]!,
    )
    .slice(0, count);
}

/**
 * A PNG grid of receptive-field heat maps: one row per top filter (captioned with its index,
 * its part and P_{f,part}, and its instability), one column per image where it fires most;
 * each tile is the image with the filter's upsampled activation blended in as heat (scaled
 * to the filter's largest shown activation).
 */
export function renderFilterHeatmaps(
  interp: LayerInterpretation,
  images: PartImages,
  options: HeatmapOptions = {},
): Buffer {
  const { score } = peaks(interp.maps);
  const rows = topFilters(interp, options.filters ?? 8, score);
  const columns = options.images ?? 6;
  const zoom = options.zoom ?? 2;
  const size = images.size;
  const tile = size * zoom;
  const caption = 14;
  const header = options.title ? 20 : 0;
  const [n, , , c] = interp.maps.shape;
  const canvas = createCanvas(
    Math.max(columns * (tile + 2), 240),
    header + Math.max(rows.length, 1) * (tile + caption + 4),
  );
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#1e1e1e';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.font = '11px sans-serif';
  if (options.title) {
    ctx.fillStyle = '#ffffff';
    ctx.fillText(options.title, 4, 14);
  }
  if (rows.length === 0) {
    ctx.fillStyle = '#ffffff';
    ctx.fillText('no filter fires on these images', 4, header + 14);
  }
  rows.forEach((f, row) => {
    const top = Array.from({ length: n }, (_, i) => i)
      .sort((a, b) => score[b * c + f]! - score[a * c + f]!)
      .slice(0, columns);
    const scale = Math.max(...top.map((i) => score[i * c + f]!), 1e-9);
    const y0 = header + row * (tile + caption + 4);
    const { part, score: p } = interp.interpretability.perFilter[f]!;
    const instability = interp.instability.perFilter[f]!;
    ctx.fillStyle = '#ffffff';
    ctx.fillText(
      `filter ${f} · ${partNameOf(part)} (P=${p.toFixed(2)}) · instability ${Number.isNaN(instability) ? '–' : instability.toFixed(3)}`,
      2,
      y0 + 11,
    );
    top.forEach((i, col) => {
      const small = createCanvas(size, size);
      const sctx = small.getContext('2d');
      const img = sctx.createImageData(size, size);
      const rgb = images.samples[i]!.rgb;
      const map = upsampleMap(interp.maps, i, f, interp.geometry);
      for (let y = 0; y < size; y++) {
        for (let x = 0; x < size; x++) {
          const p = y * size + x;
          const heat = Math.min(Math.max(map[p]! / scale, 0), 1);
          const grey = (rgb[p * 3]! + rgb[p * 3 + 1]! + rgb[p * 3 + 2]!) / 3;
          const base = 0.35 * grey;
          img.data.set(
            [
              base + heat * 255 * 0.65 + (1 - heat) * 0.3 * rgb[p * 3]!,
              base + heat * heat * 200 * 0.65 + (1 - heat) * 0.3 * rgb[p * 3 + 1]!,
              base + (1 - heat) * 0.3 * rgb[p * 3 + 2]!,
              255,
            ],
            p * 4,
          );
        }
      }
      sctx.putImageData(img, 0, 0);
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(small, col * (tile + 2), y0 + caption, tile, tile);
    });
  });
  return canvas.toBuffer('image/png');
}
