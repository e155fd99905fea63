import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTransplantError } from '@transplant/core';
import { cropResize, cropWindow } from '../image-io';
import { PART_NAMES } from '../parts';
import { SyntheticSet } from '../synthetic-set';
import { loadCub, readCubCrop } from './load-cub';
import { writeCub } from './write-cub';

const set = new SyntheticSet({
  seed: 'cub',
  size: 64,
  categories: ['bird', 'cat'],
  perCategory: { train: 3, dev: 0, test: 2 },
  negatives: { train: 2, dev: 0, test: 1 },
});
let dir: string;
let root: string;

async function codeOf(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
    return { code: 'no error', message: '' };
  } catch (error) {
    return isTransplantError(error)
      ? { code: error.code, message: error.message }
      : { code: 'uncoded', message: String(error) };
  }
}

/** A copy of the written set with one file replaced, to test one fault at a time. */
async function withFile(relative: string, edit: (text: string) => string): Promise<string> {
  const copy = await mkdtemp(join(dir, 'fault-'));
  await rm(copy, { recursive: true });
  await writeCub(set, copy);
  const path = join(copy, relative);
  await writeFile(path, edit(await readFile(path, 'utf8')));
  return copy;
}

describe('CUB-200-2011 layout', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'transplant-cub-'));
    root = join(dir, 'CUB_200_2011');
    await writeCub(set, root);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('round-trips: the loader reads back every image, box, split and part', async () => {
    const cub = await loadCub(root);
    expect([...cub.classes.values()]).toEqual(['001.bird', '002.cat']);
    expect(cub.parts.map((p) => p.name)).toEqual([...PART_NAMES]);
    const animals = [...set.items('train'), ...set.items('test')].filter((r) => r.category !== 'background');
    expect(cub.images).toHaveLength(animals.length);
    for (const [i, ref] of animals.entries()) {
      const image = cub.images[i]!;
      const sample = set.render(ref);
      const [x0, y0, x1, y1] = sample.annotation.box!;
      expect(image.isTraining).toBe(ref.split === 'train');
      expect(cub.classes.get(image.classId)).toContain(ref.category);
      expect(image.box).toEqual([x0, y0, x1 - x0, y1 - y0]);
      PART_NAMES.forEach((name, k) => {
        const p = sample.annotation.parts[name];
        const loaded = image.parts.get(k + 1);
        if (p?.centre) {
          expect(loaded![0]).toBeCloseTo(p.centre[0], 2);
          expect(loaded![1]).toBeCloseTo(p.centre[1], 2);
        } else {
          expect(loaded).toBeNull();
        }
      });
      // The crop the loader makes equals the crop of the original pixels, parts within a pixel.
      const crop = await readCubCrop(cub, image, 48);
      const window = cropWindow(image.box, 64, 64);
      const expected = await cropResize(sample, window, 48);
      expect(Buffer.from(crop.rgb).equals(Buffer.from(expected.rgb))).toBe(true);
      PART_NAMES.forEach((name, k) => {
        const p = sample.annotation.parts[name];
        const mapped = crop.parts.get(k + 1);
        if (!p?.centre) return;
        expect(Math.abs(mapped![0] - ((p.centre[0] - window.left) / window.width) * 48)).toBeLessThan(1);
        expect(Math.abs(mapped![1] - ((p.centre[1] - window.top) / window.height) * 48)).toBeLessThan(1);
        expect(mapped![0]).toBeGreaterThanOrEqual(0);
        expect(mapped![0]).toBeLessThanOrEqual(48);
      });
    }
  });

  it.each([
    ['a missing file', 'bounding_boxes.txt', null, 'E_DATA_MISSING_FILE', 'bounding_boxes.txt'],
    [
      'a non-numeric field',
      'bounding_boxes.txt',
      (t: string) => t.replace(/^2 \S+/m, '2 wide'),
      'E_DATA_MALFORMED',
      'bounding_boxes.txt:2',
    ],
    [
      'a short line',
      'images.txt',
      (t: string) => t.replace(/^3 .*$/m, '3'),
      'E_DATA_MALFORMED',
      'images.txt:3',
    ],
    [
      'a duplicate id',
      'train_test_split.txt',
      (t: string) => `${t}1 0\n`,
      'E_DATA_ID_MISMATCH',
      'train_test_split.txt:11',
    ],
    [
      'an image without a label',
      'image_class_labels.txt',
      (t: string) => t.replace(/^4 .*\n/m, ''),
      'E_DATA_ID_MISMATCH',
      'no line in image_class_labels.txt',
    ],
    [
      'an undeclared class',
      'image_class_labels.txt',
      (t: string) => t.replace(/^1 1$/m, '1 9'),
      'E_DATA_ID_MISMATCH',
      'undeclared class 9',
    ],
    [
      'an undeclared part',
      'parts/part_locs.txt',
      (t: string) => t.replace(/^1 1 /m, '1 42 '),
      'E_DATA_ID_MISMATCH',
      'part id 42',
    ],
    [
      'a negative box size',
      'bounding_boxes.txt',
      (t: string) => t.replace(/^1 (\S+) (\S+) \S+/m, '1 $1 $2 -3'),
      'E_DATA_MALFORMED',
      'bounding_boxes.txt:1',
    ],
  ] as const)(
    'reports %s with a coded error naming the file and line',
    async (_what, file, edit, code, where) => {
      let path = root;
      if (edit === null) {
        path = await withFile(file, (t) => t);
        await rm(join(path, file));
      } else {
        path = await withFile(file, edit);
      }
      const result = await codeOf(loadCub(path));
      expect(result.code).toBe(code);
      expect(result.message).toContain(where);
    },
  );

  it('reads JPEG images as well as PNG', async () => {
    const sharp = (await import('sharp')).default;
    const copy = await withFile('images.txt', (t) => t.replace(/^(1 \S+)\.png$/m, '$1.jpg'));
    const cub = await loadCub(copy);
    const image = cub.images[0]!;
    const png = join(copy, 'images', image.path.replace(/\.jpg$/, '.png'));
    await sharp(png)
      .jpeg({ quality: 95 })
      .toFile(join(copy, 'images', image.path));
    const fromJpeg = await readCubCrop(cub, image, 32);
    const fromPng = await readCubCrop(
      { ...cub, images: [] },
      { ...image, path: image.path.replace(/\.jpg$/, '.png') },
      32,
    );
    const diff = fromJpeg.rgb.reduce((m, v, i) => Math.max(m, Math.abs(v - fromPng.rgb[i]!)), 0);
    expect(image.path.endsWith('.jpg')).toBe(true);
    expect(diff).toBeLessThan(60);
    expect(fromJpeg.parts).toEqual(fromPng.parts);
  });

  it('reports missing and unreadable images by name', async () => {
    const cub = await loadCub(root);
    const gone = { ...cub.images[0]!, path: '001.bird/not-there.png' };
    const missing = await codeOf(readCubCrop(cub, gone, 32));
    expect(missing.code).toBe('E_DATA_MISSING_FILE');
    expect(missing.message).toContain('not-there.png');
    await writeFile(join(root, 'images', cub.images[1]!.path), 'this is not an image');
    const unreadable = await codeOf(readCubCrop(cub, cub.images[1]!, 32));
    expect(unreadable.code).toBe('E_IMAGE_UNREADABLE');
    expect(unreadable.message).toContain(cub.images[1]!.path);
  });
});
