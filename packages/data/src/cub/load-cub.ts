import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TransplantError } from '@transplant/core';
import { cropResize, cropWindow, decodeImage, toCrop, type RgbImage } from '../image-io';

export interface CubPart {
  readonly id: number;
  readonly name: string;
}

export interface CubImage {
  readonly id: number;
  /** Relative to `images/`. */
  readonly path: string;
  readonly classId: number;
  /** [x, y, width, height] in pixels. */
  readonly box: readonly [number, number, number, number];
  readonly isTraining: boolean;
  /** Per declared part: its location in pixels, or null when not visible. */
  readonly parts: ReadonlyMap<number, readonly [number, number] | null>;
}

export interface CubDataset {
  readonly root: string;
  readonly classes: ReadonlyMap<number, string>;
  readonly parts: readonly CubPart[];
  readonly images: readonly CubImage[];
}

type Row = { readonly line: number; readonly fields: string[] };

async function readRows(root: string, relative: string): Promise<Row[]> {
  const path = join(root, relative);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new TransplantError('E_DATA_MISSING_FILE', `${path} cannot be read`, {
      module: relative,
      operation: 'loadCub',
      cause,
    });
  }
  return text
    .split(/\r?\n/)
    .map((l, i) => ({ line: i + 1, fields: l.trim().split(/\s+/) }))
    .filter((r) => r.fields.length > 0 && r.fields[0] !== '');
}

function malformed(file: string, line: number, why: string): TransplantError {
  return new TransplantError('E_DATA_MALFORMED', `${file}:${line}: ${why}`, {
    module: file,
    operation: 'loadCub',
    details: { file, line },
  });
}

function mismatch(file: string, line: number, why: string): TransplantError {
  return new TransplantError('E_DATA_ID_MISMATCH', `${file}:${line}: ${why}`, {
    module: file,
    operation: 'loadCub',
    details: { file, line },
  });
}

function int(file: string, row: Row, k: number, what: string): number {
  const text = row.fields[k];
  const v = Number(text);
  if (text === undefined || !Number.isInteger(v) || v < 0)
    throw malformed(file, row.line, `${what} "${text ?? ''}" is not a non-negative integer`);
  return v;
}

function num(file: string, row: Row, k: number, what: string): number {
  const text = row.fields[k];
  const v = Number(text);
  if (text === undefined || !Number.isFinite(v))
    throw malformed(file, row.line, `${what} "${text ?? ''}" is not a number`);
  return v;
}

/** Reads `<id> <rest…>` lines into a map, refusing duplicate ids and short lines. */
function byId<T>(
  file: string,
  rows: Row[],
  fields: number,
  read: (row: Row) => T,
): Map<number, { value: T; line: number }> {
  const out = new Map<number, { value: T; line: number }>();
  for (const row of rows) {
    if (row.fields.length < fields)
      throw malformed(file, row.line, `expected ${fields} fields, found ${row.fields.length}`);
    const id = int(file, row, 0, 'id');
    if (out.has(id)) throw mismatch(file, row.line, `id ${id} appears twice`);
    out.set(id, { value: read(row), line: row.line });
  }
  return out;
}

/**
 * Loads a CUB-200-2011 folder (the real data set or one written by `writeCub`): ids are
 * checked across files, and malformed input is a coded error naming the file and line.
 */
export async function loadCub(root: string): Promise<CubDataset> {
  const [imagesRows, classRows, labelRows, boxRows, splitRows, partRows, locRows] = await Promise.all(
    [
      'images.txt',
      'classes.txt',
      'image_class_labels.txt',
      'bounding_boxes.txt',
      'train_test_split.txt',
      'parts/parts.txt',
      'parts/part_locs.txt',
    ].map((f) => readRows(root, f)),
  );
  const classes = byId('classes.txt', classRows!, 2, (r) => r.fields.slice(1).join(' '));
  const parts = byId('parts/parts.txt', partRows!, 2, (r) => r.fields.slice(1).join(' '));
  const paths = byId('images.txt', imagesRows!, 2, (r) => r.fields.slice(1).join(' '));
  const labels = byId('image_class_labels.txt', labelRows!, 2, (r) =>
    int('image_class_labels.txt', r, 1, 'class id'),
  );
  const boxes = byId('bounding_boxes.txt', boxRows!, 5, (r) => {
    const b = [1, 2, 3, 4].map((k) => num('bounding_boxes.txt', r, k, 'box value')) as [
      number,
      number,
      number,
      number,
    ];
    if (b[2] <= 0 || b[3] <= 0)
      throw malformed('bounding_boxes.txt', r.line, 'box width and height must be positive');
    return b;
  });
  const split = byId('train_test_split.txt', splitRows!, 2, (r) => {
    const v = int('train_test_split.txt', r, 1, 'is_training_image');
    if (v > 1) throw malformed('train_test_split.txt', r.line, 'is_training_image must be 0 or 1');
    return v === 1;
  });
  for (const [file, map] of [
    ['image_class_labels.txt', labels],
    ['bounding_boxes.txt', boxes],
    ['train_test_split.txt', split],
  ] as const) {
    for (const [id, { line }] of map)
      if (!paths.has(id)) throw mismatch(file, line, `image id ${id} is not in images.txt`);
    for (const [id, { line }] of paths)
      if (!map.has(id)) throw mismatch('images.txt', line, `image id ${id} has no line in ${file}`);
  }
  for (const [id, { value, line }] of labels) {
    if (!classes.has(value))
      throw mismatch('image_class_labels.txt', line, `image ${id} has undeclared class ${value}`);
  }
  const locs = new Map<number, Map<number, readonly [number, number] | null>>();
  for (const row of locRows!) {
    const f = 'parts/part_locs.txt';
    if (row.fields.length < 5) throw malformed(f, row.line, `expected 5 fields, found ${row.fields.length}`);
    const [imageId, partId] = [int(f, row, 0, 'image id'), int(f, row, 1, 'part id')];
    const [x, y, visible] = [num(f, row, 2, 'x'), num(f, row, 3, 'y'), int(f, row, 4, 'visible')];
    if (!paths.has(imageId)) throw mismatch(f, row.line, `image id ${imageId} is not in images.txt`);
    if (!parts.has(partId)) throw mismatch(f, row.line, `part id ${partId} is not in parts/parts.txt`);
    if (visible > 1) throw malformed(f, row.line, 'visible must be 0 or 1');
    const perImage = locs.get(imageId) ?? new Map();
    if (perImage.has(partId)) throw mismatch(f, row.line, `part ${partId} of image ${imageId} appears twice`);
    perImage.set(partId, visible ? [x, y] : null);
    locs.set(imageId, perImage);
  }
  const images: CubImage[] = [...paths].map(([id, { value: path }]) => ({
    id,
    path,
    classId: labels.get(id)!.value,
    box: boxes.get(id)!.value,
    isTraining: split.get(id)!.value,
    parts: locs.get(id) ?? new Map(),
  }));
  return {
    root,
    classes: new Map([...classes].map(([id, { value }]) => [id, value])),
    parts: [...parts].map(([id, { value }]) => ({ id, name: value })),
    images: images.sort((a, b) => a.id - b.id),
  };
}

export interface CubCrop extends RgbImage {
  readonly image: CubImage;
  /** Part locations in the crop's pixels (null when not visible). */
  readonly parts: ReadonlyMap<number, readonly [number, number] | null>;
}

/**
 * Decodes an image, crops its object box and resizes the crop to size × size (bilinear,
 * anisotropic, docs/methods.md §1.1), mapping part locations into the crop.
 */
export async function readCubCrop(dataset: CubDataset, image: CubImage, size: number): Promise<CubCrop> {
  const path = join(dataset.root, 'images', image.path);
  try {
    await access(path);
  } catch (cause) {
    throw new TransplantError(
      'E_DATA_MISSING_FILE',
      `${path} (image ${image.id} of images.txt) does not exist`,
      { module: image.path, operation: 'readCubCrop', cause },
    );
  }
  const full = await decodeImage(path, `images/${image.path}`);
  const window = cropWindow(image.box, full.width, full.height);
  const crop = await cropResize(full, window, size);
  const parts = new Map([...image.parts].map(([id, p]) => [id, p ? toCrop(p, window, size) : null] as const));
  return { ...crop, image, parts };
}
