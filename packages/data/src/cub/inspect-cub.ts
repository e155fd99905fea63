import { access, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { cropResize, cropWindow, decodeImage } from '../image-io';
import { renderContactSheet, type SheetTile } from '../preview';
import { loadCub, readCubCrop } from './load-cub';

export interface InspectReport {
  readonly root: string;
  readonly images: number;
  readonly classes: number;
  readonly train: number;
  readonly test: number;
  /** Part name → images where it is annotated visible. */
  readonly visibleParts: Readonly<Record<string, number>>;
  readonly sheet: string;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** Loads a CUB-layout folder, counts what it holds and writes a contact sheet of its first n object crops. */
export async function inspectCub(options: {
  cub: string;
  n: number;
  size: number;
  out?: string | undefined;
}): Promise<InspectReport> {
  const cub = await loadCub(resolve(options.cub));
  const visibleParts = Object.fromEntries(
    cub.parts.map((p) => [p.name, cub.images.filter((im) => im.parts.get(p.id) != null).length]),
  );
  const tiles: SheetTile[] = [];
  for (const image of cub.images.slice(0, options.n)) {
    const crop = await readCubCrop(cub, image, options.size);
    const points = [...crop.parts].flatMap(([id, p]) => (p ? [{ label: id, x: p[0], y: p[1] }] : []));
    const segmentation = join(cub.root, 'segmentations', image.path.replace(/\.[a-z]+$/i, '.png'));
    let labels: Uint8Array | undefined;
    if (await exists(segmentation)) {
      // Crop the object mask like the image, and show it in the torso colour.
      const mask = await decodeImage(segmentation);
      const resized = await cropResize(mask, cropWindow(image.box, mask.width, mask.height), options.size);
      labels = new Uint8Array(options.size * options.size).map((_, i) => (resized.rgb[i * 3]! > 127 ? 3 : 0));
    }
    tiles.push({
      ...crop,
      ...(labels ? { labels } : {}),
      points,
      caption: cub.classes.get(image.classId) ?? '',
    });
  }
  const sheet = resolve(options.out ?? 'data-inspect.png');
  if (tiles.length > 0)
    await writeFile(
      sheet,
      renderContactSheet(tiles, {
        columns: Math.ceil(Math.sqrt(tiles.length)),
        zoom: Math.max(1, Math.round(160 / options.size)),
      }),
    );
  return {
    root: cub.root,
    images: cub.images.length,
    classes: cub.classes.size,
    train: cub.images.filter((im) => im.isTraining).length,
    test: cub.images.filter((im) => !im.isTraining).length,
    visibleParts,
    sheet,
  };
}

/** The report as lines of text. */
/** The report as lines of text. */
export function formatInspectReport(r: InspectReport): string {
  return [
    `${r.root}: ${r.images} images, ${r.classes} classes (train ${r.train}, test ${r.test})`,
    `parts (${Object.keys(r.visibleParts).length}), images where each is visible:`,
    ...Object.entries(r.visibleParts).map(([name, n]) => `  ${name}: ${n}`),
    `contact sheet: ${r.sheet}`,
  ].join('\n');
}
