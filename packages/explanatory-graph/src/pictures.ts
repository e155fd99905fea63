import { createCanvas, type SKRSContext2D } from '@napi-rs/canvas';
import { partColour, partLabel, type PartName } from '@transplant/data';
import type { PartImages } from '@transplant/interpretable';
import type { GraphInference, InferredImages } from './graph';
import type { Point } from './localize';

/** A node of the graph: its layer (0 = top) and its index in that layer. */
export interface NodeRef {
  readonly layer: number;
  readonly node: number;
}

/** The images where a node fires most (by its total score S), best first. */
export function topImages(inference: GraphInference, ref: NodeRef, count: number): number[] {
  const l = inference.layers[ref.layer]!;
  return Array.from({ length: inference.n }, (_, i) => i)
    .filter((i) => l.total[i * l.nodes + ref.node]! > 0)
    .sort((a, b) => l.total[b * l.nodes + ref.node]! - l.total[a * l.nodes + ref.node]! || a - b)
    .slice(0, count);
}

/** A node's position [x, y] in image i (original frame). */
export function nodePosition(inference: GraphInference, ref: NodeRef, i: number): Point {
  const l = inference.layers[ref.layer]!;
  return [l.pos[(i * l.nodes + ref.node) * 2 + 1]!, l.pos[(i * l.nodes + ref.node) * 2]!];
}

/** Where `drawPatch` takes a patch from and puts it. */
interface PatchPlacement {
  /** The image index in `images`. */
  readonly image: number;
  /** The patch centre [x, y] in image pixels. */
  readonly centre: Point;
  /** The patch side, image pixels. */
  readonly patch: number;
  /** The top-left corner on the canvas. */
  readonly x0: number;
  readonly y0: number;
  readonly zoom: number;
}

/** A patch of one image drawn on the canvas, pixels outside the image dark grey. */
function drawPatch(ctx: SKRSContext2D, images: PartImages, placement: PatchPlacement): void {
  const { image: i, centre, patch, x0, y0, zoom } = placement;
  const { size } = images;
  const rgb = images.samples[i]!.rgb;
  const half = patch / 2;
  const img = ctx.createImageData(patch, patch);
  for (let y = 0; y < patch; y++) {
    for (let x = 0; x < patch; x++) {
      const sx = Math.floor(centre[0] - half + x);
      const sy = Math.floor(centre[1] - half + y);
      const at = (y * patch + x) * 4;
      if (sx < 0 || sy < 0 || sx >= size || sy >= size) {
        img.data[at] = img.data[at + 1] = img.data[at + 2] = 40;
      } else {
        const s = (sy * size + sx) * 3;
        img.data[at] = rgb[s]!;
        img.data[at + 1] = rgb[s + 1]!;
        img.data[at + 2] = rgb[s + 2]!;
      }
      img.data[at + 3] = 255;
    }
  }
  const tile = createCanvas(patch, patch);
  tile.getContext('2d').putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(tile, x0, y0, patch * zoom, patch * zoom);
}

export interface PatchOptions {
  /** Patch side in image pixels (default: three cells of the node's layer, at least 12). */
  readonly patch?: number;
  readonly images?: number;
  readonly zoom?: number;
  /** One caption per row. */
  readonly captions?: readonly string[];
  readonly patchFor?: (ref: NodeRef) => number;
}

/**
 * Image patches where nodes fire (docs/methods.md §3: "what each node represents"): one row per
 * node, one column per image where it fires most, each patch centred on the node's inferred
 * position there, a cross at the centre.
 */
export function renderNodePatches(
  { inference, images }: InferredImages,
  nodes: readonly NodeRef[],
  options: PatchOptions = {},
): Buffer {
  const columns = options.images ?? 6;
  const zoom = options.zoom ?? 3;
  const sizes = nodes.map((r) => options.patchFor?.(r) ?? options.patch ?? 16);
  const tile = Math.max(...sizes, 1) * zoom;
  const caption = 14;
  const canvas = createCanvas(
    Math.max(columns * (tile + 2), 200),
    Math.max(nodes.length, 1) * (tile + caption + 4),
  );
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#1e1e1e';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.font = '11px sans-serif';
  nodes.forEach((ref, row) => {
    const y0 = row * (tile + caption + 4);
    ctx.fillStyle = '#ffffff';
    ctx.fillText(options.captions?.[row] ?? `layer ${ref.layer} node ${ref.node}`, 2, y0 + 11);
    const patch = sizes[row]!;
    const z = tile / patch;
    topImages(inference, ref, columns).forEach((i, col) => {
      const x0 = col * (tile + 2);
      drawPatch(ctx, images, {
        image: i,
        centre: nodePosition(inference, ref, i),
        patch,
        x0,
        y0: y0 + caption,
        zoom: z,
      });
      ctx.strokeStyle = '#ffff00';
      const cx = x0 + tile / 2;
      const cy = y0 + caption + tile / 2;
      ctx.beginPath();
      ctx.moveTo(cx - 4, cy);
      ctx.lineTo(cx + 4, cy);
      ctx.moveTo(cx, cy - 4);
      ctx.lineTo(cx, cy + 4);
      ctx.stroke();
    });
  });
  return canvas.toBuffer('image/png');
}

export interface LocalizedPartsPicture {
  /** The image drawn. */
  readonly index: number;
  readonly predictions: readonly { part: PartName; point: Point }[];
  readonly zoom?: number;
  readonly title?: string;
}

/**
 * One image with localized parts drawn on it: each prediction a filled dot in its part's
 * colour, the annotated centre a ring of the same colour, a line between them; a legend.
 */
export function renderLocalizedParts(images: PartImages, options: LocalizedPartsPicture): Buffer {
  const { index: i, predictions } = options;
  const zoom = options.zoom ?? 5;
  const { size } = images;
  const sample = images.samples[i]!;
  const header = options.title ? 16 : 0;
  const legend = 16 * predictions.length + 4;
  const canvas = createCanvas(size * zoom, header + size * zoom + legend);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#1e1e1e';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  drawPatch(ctx, images, { image: i, centre: [size / 2, size / 2], patch: size, x0: 0, y0: header, zoom });
  ctx.font = '11px sans-serif';
  if (options.title) {
    ctx.fillStyle = '#ffffff';
    ctx.fillText(options.title, 2, 12);
  }
  predictions.forEach(({ part, point }, k) => {
    const [r, g, b] = partColour(partLabel(part));
    const colour = `rgb(${r},${g},${b})`;
    const truth = sample.annotation.parts[part];
    const px = point[0] * zoom;
    const py = header + point[1] * zoom;
    ctx.strokeStyle = colour;
    ctx.fillStyle = colour;
    ctx.lineWidth = 2;
    if (truth?.visible && truth.centre) {
      const tx = truth.centre[0] * zoom;
      const ty = header + truth.centre[1] * zoom;
      ctx.beginPath();
      ctx.arc(tx, ty, 6, 0, 2 * Math.PI);
      ctx.stroke();
      ctx.beginPath();
      ctx.moveTo(tx, ty);
      ctx.lineTo(px, py);
      ctx.stroke();
    }
    ctx.beginPath();
    ctx.arc(px, py, 4, 0, 2 * Math.PI);
    ctx.fill();
    ctx.fillText(`● ${part}`, 4, header + size * zoom + 14 + 16 * k);
  });
  return canvas.toBuffer('image/png');
}
