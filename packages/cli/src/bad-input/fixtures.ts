import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { Network, createModule, publishModule, publishNetwork } from '@transplant/composer';
import { SyntheticSet, encodePng, writeCub } from '@transplant/data';
import { FolderStore, Registry } from '@transplant/registry';
import { testPlugins } from '@transplant/platform/testing';
import type { Fixtures } from './cases';

/** CRC-32 of a PNG chunk's type and data (ISO 3309 polynomial). */
function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** A well-formed PNG that declares width × height RGB pixels but holds one row of data. */
export function pngHeaderOnly(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.alloc(1 + Math.min(width, 1024) * 3))),
    chunk('IEND', new Uint8Array()),
  ]);
}

/** Seeded bytes (a linear congruential generator): the same garbage on every run. */
function garbage(n: number): Buffer {
  const bytes = Buffer.alloc(n);
  let state = 12345;
  for (let i = 0; i < n; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    bytes[i] = state >>> 24;
  }
  return bytes;
}

const meta = (metric: string, value: number) => ({
  version: '1.0.0',
  generatedBy: 'transplant/0.1.0',
  provenance: { data: 'test', seed: 1, steps: 0, backend: 'cpu' },
  card: { metrics: [{ name: metric, value, on: 'test' }] },
});

/**
 * Publishes tiny networks (16 × 16 images, an 8 × 8 × 8 map at stride 2) into a folder registry:
 * cat-cls, cat-seg and dog-cls, each with its own NAME-features and NAME-head.
 */
export async function publishTinyZoo(location: string): Promise<void> {
  const registry = new Registry(new FolderStore(location));
  const plugins = testPlugins();
  const map = { inputSize: 8, inputChannels: 8, inputStride: 2 };
  for (const [category, task] of [
    ['cat', 'cls'],
    ['cat', 'seg'],
    ['dog', 'cls'],
  ] as const) {
    const name = `${category}-${task}`;
    const features = createModule(plugins, {
      name: `${name}-features`,
      family: 'category-vgg',
      options: { inputSize: 16, blocks: [[4], [8]] },
      seed: 1,
      category,
    });
    const head =
      task === 'cls'
        ? createModule(plugins, {
            name: `${name}-head`,
            family: 'task-cls',
            // One conv layer: an explainer reconstructs it.
            options: { ...map, convs: [8], hidden: 4 },
            seed: 2,
          })
        : createModule(plugins, {
            name: `${name}-head`,
            family: 'task-seg',
            options: { ...map, widths: [8, 4] },
            seed: 2,
          });
    const network = Network.create([features, head], [{ category: features.name, task: head.name }]);
    const m = task === 'cls' ? meta('error-rate', 0.04) : meta('iou', 0.81);
    await publishModule(registry, features, m);
    await publishModule(registry, head, m);
    await publishNetwork(registry, network, { ...m, name });
    network.dispose();
  }
}

/** Where {@link writeFixtures} puts each fixture in `dir`. */
export function fixturePaths(dir: string): Fixtures {
  const at = (name: string) => join(dir, name);
  return {
    image: at('cat.png'),
    folder: at('folder'),
    emptyFolder: at('empty-folder'),
    file: at('plain.txt'),
    underFile: join(at('plain.txt'), 'below'),
    missing: at('missing'),
    garbage: at('garbage.bin'),
    empty: at('empty.png'),
    truncatedPng: at('truncated.png'),
    hugePng: at('huge.png'),
    corruptJson: at('corrupt.json'),
    wrongJson: at('wrong.json'),
    corruptModuleFolder: at('corrupt-module'),
    corruptCubFolder: at('corrupt-cub'),
  };
}

/** Writes the bad (and the few good) files the cases point at, where {@link fixturePaths} says. */
export async function writeFixtures(f: Fixtures): Promise<void> {
  const rgb = Uint8Array.from({ length: 20 * 24 * 3 }, (_, i) => (i * 37) % 256);
  const png = await encodePng({ width: 24, height: 20, rgb });
  await mkdir(f.folder, { recursive: true });
  await writeFile(f.image, png);
  await mkdir(join(f.folder, 'inside'));
  await writeFile(join(f.folder, 'inside', 'note.txt'), 'a folder that is neither a registry nor an image\n');
  await mkdir(f.emptyFolder);
  await writeFile(f.file, 'plain text\n');
  await writeFile(f.garbage, garbage(4096));
  await writeFile(f.empty, new Uint8Array());
  await writeFile(f.truncatedPng, png.subarray(0, Math.floor(png.length / 2)));
  await writeFile(f.hugePng, pngHeaderOnly(30000, 30000));
  await writeFile(f.corruptJson, '{"format": "transplant", "modelTopology": {"layers": [');
  await writeFile(f.wrongJson, '{}');
  await mkdir(f.corruptModuleFolder);
  await writeFile(join(f.corruptModuleFolder, 'manifest.json'), '{"name": "x", "family": {');
  await writeFile(join(f.corruptModuleFolder, 'weights.bin'), garbage(64));
  await mkdir(f.corruptCubFolder);
  await writeFile(join(f.corruptCubFolder, 'images.txt'), garbage(512));
}

/** A valid CUB-200-2011 layout folder of two tiny bird images (the `data inspect` baseline). */
export async function writeTinyCub(root: string): Promise<void> {
  const set = new SyntheticSet({
    seed: 'bad-input',
    size: 32,
    categories: ['bird'],
    perCategory: { train: 1, dev: 0, test: 1 },
    negatives: { train: 0, dev: 0, test: 0 },
  });
  await writeCub(set, root);
}
