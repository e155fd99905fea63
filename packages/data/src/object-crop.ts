import type { Annotation, PartAnnotation } from './annotation';
import { partLabel, type PartName } from './parts';
import { countTextures, type RenderedSample } from './render/render-sample';

/**
 * The papers' view of an image (docs/methods.md §1.1): the object's box cropped and resized
 * anisotropically to size × size — RGB bilinear (half-pixel centres), the label map nearest,
 * part centres moved into the crop (on a pixel of the part when it is visible), part areas
 * recounted; the texture maps nearest too, their areas recounted. A negative (no box) is the whole image resized. `margin` widens the box by that
 * share of its size on every side (clamped to the image).
 */
export function objectCrop(sample: RenderedSample, size: number, margin = 0): RenderedSample {
  const { width, height } = sample;
  const box = sample.annotation.box;
  let [x0, y0, x1, y1] = box ?? [0, 0, width, height];
  const mx = (x1 - x0) * margin;
  const my = (y1 - y0) * margin;
  x0 = Math.max(0, x0 - mx);
  y0 = Math.max(0, y0 - my);
  x1 = Math.min(width, x1 + mx);
  y1 = Math.min(height, y1 + my);
  const sx = (x1 - x0) / size;
  const sy = (y1 - y0) / size;
  const rgb = new Uint8Array(size * size * 3);
  const labels = new Uint8Array(size * size);
  const textures = sample.textures;
  const regions = textures ? new Uint8Array(size * size) : undefined;
  const marks = textures ? new Uint8Array(size * size) : undefined;
  const src = sample.rgb;
  // Per output column: the two source columns, the weight of the second, and the nearest column.
  const c0s = new Int32Array(size);
  const c1s = new Int32Array(size);
  const txs = new Float32Array(size);
  const nxs = new Int32Array(size);
  for (let x = 0; x < size; x++) {
    const fx = Math.min(Math.max(x0 + (x + 0.5) * sx - 0.5, 0), width - 1);
    c0s[x] = Math.floor(fx);
    c1s[x] = Math.min(c0s[x]! + 1, width - 1);
    txs[x] = fx - c0s[x]!;
    nxs[x] = Math.min(width - 1, Math.floor(x0 + (x + 0.5) * sx));
  }
  for (let y = 0; y < size; y++) {
    const fy = Math.min(Math.max(y0 + (y + 0.5) * sy - 0.5, 0), height - 1);
    const r0 = Math.floor(fy);
    const r1 = Math.min(r0 + 1, height - 1);
    const ty = fy - r0;
    const ny = Math.min(height - 1, Math.floor(y0 + (y + 0.5) * sy));
    for (let x = 0; x < size; x++) {
      const tx = txs[x]!;
      const a = (r0 * width + c0s[x]!) * 3;
      const b = (r0 * width + c1s[x]!) * 3;
      const c = (r1 * width + c0s[x]!) * 3;
      const d = (r1 * width + c1s[x]!) * 3;
      const o = (y * size + x) * 3;
      for (let k = 0; k < 3; k++) {
        rgb[o + k] = Math.round(
          (1 - ty) * ((1 - tx) * src[a + k]! + tx * src[b + k]!) +
            ty * ((1 - tx) * src[c + k]! + tx * src[d + k]!),
        );
      }
      labels[y * size + x] = sample.labels[ny * width + nxs[x]!]!;
      if (textures) {
        regions![y * size + x] = textures.regions[ny * width + nxs[x]!]!;
        marks![y * size + x] = textures.marks[ny * width + nxs[x]!]!;
      }
    }
  }
  const area = new Map<number, number>();
  for (const v of labels) area.set(v, (area.get(v) ?? 0) + 1);
  const parts: Partial<Record<PartName, PartAnnotation>> = {};
  const names = Object.keys(sample.annotation.parts) as PartName[];
  for (const name of names) {
    const a = sample.annotation.parts[name]!;
    const label = partLabel(name);
    const visibleArea = area.get(label) ?? 0;
    const centre = a.centre
      ? nearestOnLabel(labels, size, [(a.centre[0] - x0) / sx, (a.centre[1] - y0) / sy], label)
      : null;
    parts[name] = {
      area: visibleArea,
      visible: a.visible && visibleArea > 0 && centre !== null,
      centre: a.visible && visibleArea > 0 ? centre : null,
    };
  }
  const annotation: Annotation = {
    ...sample.annotation,
    width: size,
    height: size,
    box: box ? [0, 0, size, size] : null,
    parts,
  };
  return {
    width: size,
    height: size,
    rgb,
    labels,
    annotation,
    ...(textures
      ? {
          textures: {
            regions: regions!,
            marks: marks!,
            list: countTextures(textures.list, regions!, marks!),
          },
        }
      : {}),
  };
}

/** The pixel centre nearest to `point` whose label is `label` (the point itself when it is on one); null if none. */
function nearestOnLabel(
  labels: Uint8Array,
  size: number,
  point: readonly [number, number],
  label: number,
): [number, number] | null {
  const px = Math.min(size - 1, Math.max(0, Math.floor(point[0])));
  const py = Math.min(size - 1, Math.max(0, Math.floor(point[1])));
  if (labels[py * size + px] === label) return [px + 0.5, py + 0.5];
  let best: [number, number] | null = null;
  let bestD = Infinity;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      if (labels[y * size + x] !== label) continue;
      const d = (x + 0.5 - point[0]) ** 2 + (y + 0.5 - point[1]) ** 2;
      if (d < bestD) {
        bestD = d;
        best = [x + 0.5, y + 0.5];
      }
    }
  }
  return best;
}
