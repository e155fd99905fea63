import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CATS_AND_DOGS_SPLIT, CatsAndDogsSplit, catsAndDogsPath, readCatsAndDogs } from './cats-and-dogs';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const real = catsAndDogsPath(root);

/** A small file in the package's format: n cats and n dogs, float32 0–255 as base64. */
function fake(n: number, value = (i: number) => i % 256): string {
  const encode = (offset: number) =>
    Buffer.from(Float32Array.from({ length: n * 32 * 32 * 3 }, (_, i) => value(i + offset)).buffer).toString(
      'base64',
    );
  return JSON.stringify({ cats: encode(0), dogs: encode(7) });
}

describe('cats and dogs: real labelled photos', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'transplant-cats-dogs-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('splits each class into disjoint train / dev / test by a seeded permutation, and guards the test', async () => {
    const path = join(dir, 'dnc.json');
    await writeFile(path, fake(1000));
    const data = await readCatsAndDogs(path);
    const split = new CatsAndDogsSplit(data);
    const train = split.refs('train');
    const dev = split.refs('dev');
    expect(train).toHaveLength(2 * CATS_AND_DOGS_SPLIT.train);
    expect(dev).toHaveLength(2 * CATS_AND_DOGS_SPLIT.dev);
    expect(() => split.refs('test')).toThrow(expect.objectContaining({ code: 'E_PROTOCOL' }));
    const test = new CatsAndDogsSplit(data, { finalTest: true }).refs('test');
    for (const cls of ['cat', 'dog'] as const) {
      const ids = [train, dev, test].map((refs) => refs.filter((r) => r.cls === cls).map((r) => r.index));
      expect(new Set(ids.flat()).size).toBe(1000);
    }
    // Deterministic for a seed, different for another.
    expect(new CatsAndDogsSplit(data).refs('dev', 5)).toEqual(split.refs('dev', 5));
    expect(new CatsAndDogsSplit(data, { seed: 'other' }).refs('dev', 5)).not.toEqual(split.refs('dev', 5));
    const image = split.image(dev[0]!);
    expect([image.width, image.height, image.rgb.length]).toEqual([32, 32, 3072]);
  });

  it('refuses files that are not this data set, with codes', async () => {
    const write = async (name: string, text: string) => (
      await writeFile(join(dir, name), text),
      join(dir, name)
    );
    await expect(readCatsAndDogs(join(dir, 'missing.json'))).rejects.toMatchObject({
      code: 'E_DATA_MISSING_FILE',
    });
    await expect(readCatsAndDogs(await write('bad.json', '{ no'))).rejects.toMatchObject({
      code: 'E_DATA_MALFORMED',
    });
    await expect(readCatsAndDogs(await write('nocats.json', '{"dogs": ""}'))).rejects.toMatchObject({
      code: 'E_DATA_MALFORMED',
    });
    const partial = JSON.stringify({
      cats: Buffer.alloc(100).toString('base64'),
      dogs: Buffer.alloc(100).toString('base64'),
    });
    await expect(readCatsAndDogs(await write('partial.json', partial))).rejects.toThrow(/not whole 32×32×3/);
    await expect(
      readCatsAndDogs(
        await write(
          'range.json',
          fake(2, () => 300),
        ),
      ),
    ).rejects.toThrow(/outside 0–255/);
    const small = await readCatsAndDogs(await write('small.json', fake(10)));
    expect(() => new CatsAndDogsSplit(small)).toThrow(/the split needs 1000/);
  });

  it.skipIf(real === undefined || !existsSync(real))(
    'reads the package’s 1,000 cats and 1,000 dogs',
    async () => {
      const data = await readCatsAndDogs(real);
      expect(data.photos.cat.length / 3072).toBe(1000);
      expect(data.photos.dog.length / 3072).toBe(1000);
      // Real photos: many distinct values, not a constant fill.
      expect(new Set(data.photos.cat.subarray(0, 3072)).size).toBeGreaterThan(100);
    },
  );
});
