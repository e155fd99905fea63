import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PART_NAMES } from '../parts';
import { encodeGreyPng, encodePng } from '../image-io';
import type { ItemRef, Split, SyntheticSet } from '../synthetic-set';

export interface WriteCubOptions {
  /** Splits written as training images (is_training_image = 1); the others as test images. */
  readonly trainSplits?: readonly Split[];
  readonly testSplits?: readonly Split[];
  /** Called after each image, for progress. */
  readonly onImage?: (done: number, total: number) => void;
}

const fmt = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(3));

/**
 * Writes the set's animal images in the CUB-200-2011 folder layout (backgrounds have no place
 * in it): images/, segmentations/, images.txt, classes.txt, image_class_labels.txt,
 * bounding_boxes.txt, train_test_split.txt, parts/parts.txt, parts/part_locs.txt. Part ids
 * follow PART_NAMES; coordinates are pixels. Written to a temporary folder and renamed, so a
 * failed write leaves nothing half-done at `root`.
 */
export async function writeCub(
  set: SyntheticSet,
  root: string,
  options: WriteCubOptions = {},
): Promise<{ images: number }> {
  const trainSplits = options.trainSplits ?? ['train'];
  const testSplits = options.testSplits ?? ['test'];
  const refs: [ItemRef, boolean][] = [
    ...trainSplits.flatMap((s) => set.items(s).map((r) => [r, true] as [ItemRef, boolean])),
    ...testSplits.flatMap((s) => set.items(s).map((r) => [r, false] as [ItemRef, boolean])),
  ].filter(([r]) => r.category !== 'background');
  const tmp = `${root}.partial-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  const classDir = (c: string) => `${String(set.categories.indexOf(c as never) + 1).padStart(3, '0')}.${c}`;
  for (const c of set.categories) {
    await mkdir(join(tmp, 'images', classDir(c)), { recursive: true });
    await mkdir(join(tmp, 'segmentations', classDir(c)), { recursive: true });
  }
  await mkdir(join(tmp, 'parts'), { recursive: true });
  const lines = {
    images: [] as string[],
    labels: [] as string[],
    boxes: [] as string[],
    split: [] as string[],
    locs: [] as string[],
  };
  let id = 0;
  for (const [ref, training] of refs) {
    id += 1;
    const sample = set.render(ref);
    const a = sample.annotation;
    const file = `${classDir(ref.category)}/${ref.category}_${ref.split}_${String(ref.index).padStart(5, '0')}.png`;
    await writeFile(join(tmp, 'images', file), await encodePng(sample));
    const mask = sample.labels.map((v) => (v > 0 ? 255 : 0));
    await writeFile(join(tmp, 'segmentations', file), await encodeGreyPng(mask, sample.width, sample.height));
    const [x0, y0, x1, y1] = a.box ?? [0, 0, sample.width, sample.height];
    lines.images.push(`${id} ${file}`);
    lines.labels.push(`${id} ${set.categories.indexOf(ref.category as never) + 1}`);
    lines.boxes.push(`${id} ${fmt(x0)} ${fmt(y0)} ${fmt(x1 - x0)} ${fmt(y1 - y0)}`);
    lines.split.push(`${id} ${training ? 1 : 0}`);
    PART_NAMES.forEach((name, k) => {
      const p = a.parts[name];
      lines.locs.push(
        p?.centre ? `${id} ${k + 1} ${fmt(p.centre[0])} ${fmt(p.centre[1])} 1` : `${id} ${k + 1} 0 0 0`,
      );
    });
    options.onImage?.(id, refs.length);
  }
  const text = (rows: string[]) => `${rows.join('\n')}\n`;
  await writeFile(join(tmp, 'images.txt'), text(lines.images));
  await writeFile(join(tmp, 'classes.txt'), text(set.categories.map((c, i) => `${i + 1} ${classDir(c)}`)));
  await writeFile(join(tmp, 'image_class_labels.txt'), text(lines.labels));
  await writeFile(join(tmp, 'bounding_boxes.txt'), text(lines.boxes));
  await writeFile(join(tmp, 'train_test_split.txt'), text(lines.split));
  await writeFile(join(tmp, 'parts', 'parts.txt'), text(PART_NAMES.map((n, k) => `${k + 1} ${n}`)));
  await writeFile(join(tmp, 'parts', 'part_locs.txt'), text(lines.locs));
  await rm(root, { recursive: true, force: true });
  await rename(tmp, root);
  return { images: refs.length };
}
