import { createCanvas } from '@napi-rs/canvas';
import { PART_NAMES } from './parts';

export interface SheetTile {
  readonly width: number;
  readonly height: number;
  readonly rgb: Uint8Array;
  /** A label map (0 = none, else a part label) drawn as translucent colour. */
  readonly labels?: Uint8Array;
  /** Part points in pixels, drawn as dots with their part's colour. */
  readonly points?: readonly { readonly label: number; readonly x: number; readonly y: number }[];
  readonly caption?: string;
}

const PALETTE: readonly (readonly [number, number, number])[] = [
  [230, 25, 75],
  [145, 30, 180],
  [255, 225, 25],
  [0, 130, 200],
  [245, 130, 48],
  [60, 180, 75],
  [70, 240, 240],
  [128, 128, 0],
  [240, 50, 230],
  [255, 255, 255],
];

/** One clearly different colour per part label (1-based). */
export function partColour(label: number): readonly [number, number, number] {
  return PALETTE[(label - 1 + PALETTE.length) % PALETTE.length]!;
}

/**
 * A contact sheet: tiles scaled up `zoom`×, masks blended over them, part centres as dots, an
 * optional caption, and a legend of part colours. Returns PNG bytes.
 */
export function renderContactSheet(
  tiles: readonly SheetTile[],
  options: { columns?: number; zoom?: number; legend?: boolean } = {},
): Buffer {
  const columns = Math.max(1, Math.min(options.columns ?? 8, tiles.length));
  const zoom = options.zoom ?? 3;
  const cell = Math.max(...tiles.map((t) => Math.max(t.width, t.height))) * zoom;
  const rows = Math.ceil(tiles.length / columns);
  const legendHeight = options.legend === false ? 0 : 18;
  const canvas = createCanvas(columns * cell, rows * (cell + 12) + legendHeight);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#202020';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.imageSmoothingEnabled = false;
  tiles.forEach((t, i) => {
    const tile = createCanvas(t.width, t.height);
    const tctx = tile.getContext('2d');
    const img = tctx.createImageData(t.width, t.height);
    for (let p = 0; p < t.width * t.height; p++) {
      let [r, g, b] = [t.rgb[p * 3]!, t.rgb[p * 3 + 1]!, t.rgb[p * 3 + 2]!];
      const label = t.labels?.[p] ?? 0;
      if (label > 0) {
        const c = partColour(label);
        [r, g, b] = [r * 0.5 + c[0] * 0.5, g * 0.5 + c[1] * 0.5, b * 0.5 + c[2] * 0.5];
      }
      img.data.set([r, g, b, 255], p * 4);
    }
    tctx.putImageData(img, 0, 0);
    const x = (i % columns) * cell;
    const y = Math.floor(i / columns) * (cell + 12);
    ctx.drawImage(tile, x, y, t.width * zoom, t.height * zoom);
    for (const p of t.points ?? []) {
      const c = partColour(p.label);
      ctx.beginPath();
      ctx.arc(x + p.x * zoom, y + p.y * zoom, Math.max(2, zoom), 0, Math.PI * 2);
      ctx.fillStyle = `rgb(${c[0]},${c[1]},${c[2]})`;
      ctx.fill();
      ctx.lineWidth = 1;
      ctx.strokeStyle = '#000';
      ctx.stroke();
    }
    if (t.caption) {
      ctx.fillStyle = '#e0e0e0';
      ctx.font = '10px sans-serif';
      ctx.fillText(t.caption, x + 2, y + cell + 10, cell - 4);
    }
  });
  if (legendHeight > 0) {
    ctx.font = '10px sans-serif';
    let x = 4;
    PART_NAMES.forEach((name, k) => {
      const c = partColour(k + 1);
      ctx.fillStyle = `rgb(${c[0]},${c[1]},${c[2]})`;
      ctx.fillRect(x, rows * (cell + 12) + 5, 8, 8);
      ctx.fillStyle = '#e0e0e0';
      ctx.fillText(name, x + 11, rows * (cell + 12) + 13);
      x += 14 + ctx.measureText(name).width + 8;
    });
  }
  return canvas.toBuffer('image/png');
}
