import { mkdir, mkdtemp, readFile, readdir, rm, rmdir, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTransplantError, selectBackend } from '@transplant/core';
import {
  FILE_SWAPS,
  mutateBytes,
  nested,
  picker,
  seededRandom,
  slots,
  swapFile,
  swapSupport,
  type FileSwap,
  type Pick,
} from '@transplant/core/testing';
import { isGraphModelJson, parseGraphModel } from './import-graph-model';
import { parseTopology } from './keras-topology';
import { readModelFiles, type LayersModelFiles } from './model-weights';
import { writeGraphFixture } from './testing/graph-fixture';
import { residualFixture, sequentialFixture, writeModelFiles } from './testing/fixture-models';

/**
 * Hostile model folders on disk (issue 24, item 4): real model folders (a Sequential and a
 * functional LayersModel, a quantised GraphModel) with a shard cut short or extended, model.json
 * corrupted or declaring absurd shapes and outside paths, files swapped for links (out of the
 * folder, to a device, dangling, looping, or inside it), FIFOs, folders and 16 GiB sparse files,
 * read through `readModelFiles` and the topology reader the import runs next. Each case is a
 * correct read (the same weights when the change is harmless), or E_IMPORT_MODEL / E_IMPORT_SPLIT
 * — never another exception, a hang or a big allocation. It touches the disk, so it runs fewer
 * cases than the in-memory fuzzers.
 */

const CASES = 1_500;
/** The swaps a reader must refuse (what `link-inside` and `sparse-huge` do is checked apart). */
const REFUSED: readonly FileSwap[] = [
  'fifo',
  'folder',
  'link-outside',
  'link-device',
  'link-dangling',
  'link-loop',
];

interface Base {
  readonly name: string;
  readonly files: ReadonlyMap<string, Uint8Array>;
  readonly shard: string;
  readonly reference: LayersModelFiles;
}

function hostile(pick: Pick): unknown {
  const values: (() => unknown)[] = [
    () => [2 ** 16, 2 ** 16, 2 ** 16],
    () => [2 ** 31],
    () => 2 ** 53,
    () => -1,
    () => null,
    () => '../outside.bin',
    () => '/etc/passwd',
    () => ['../../etc/passwd'],
    () => ['real/../../x.bin'],
    () => ['.'],
    () => nested(1 + pick(300)),
    () => ({}),
  ];
  return values[pick(values.length)]!();
}

/** The weights as comparable plain values. */
const weightsOf = (files: LayersModelFiles) =>
  files.weights.map((w) => [
    w.name,
    w.dtype,
    [...w.shape],
    Buffer.from(w.data.buffer, w.data.byteOffset, w.data.byteLength),
  ]);

/** Puts a changed file of a working folder back as the base has it. */
async function restore(folder: string, base: Base, file: string, swap: FileSwap | undefined): Promise<void> {
  const path = join(folder, file);
  if (swap === 'folder') await rmdir(path);
  else if (swap !== undefined && swap !== 'sparse-huge') await unlink(path);
  if (swap === 'link-inside') {
    await unlink(join(folder, 'real', file));
    await rmdir(join(folder, 'real'));
  }
  await writeFile(path, base.files.get(file)!);
}

describe('model folders on disk under fuzzing', () => {
  let root: string;
  let support: { outside: string; fifo: string };
  const bases: Base[] = [];
  beforeAll(async () => {
    await selectBackend({ requested: 'cpu', env: {} });
    root = await mkdtemp(join(tmpdir(), 'transplant-folder-fuzz-'));
    support = await swapSupport(root);
    const made = [
      ['sequential', async (d: string) => writeModelFiles(sequentialFixture(), d)],
      ['residual', async (d: string) => writeModelFiles(residualFixture(), d, 'keras')],
      ['graph', async (d: string) => writeGraphFixture(d)],
    ] as const;
    for (const [name, write] of made) {
      const dir = join(root, 'bases', name);
      const path = await write(dir);
      const files = new Map<string, Uint8Array>();
      for (const f of await readdir(dir)) files.set(f, new Uint8Array(await readFile(join(dir, f))));
      const json = JSON.parse(await readFile(path, 'utf8')) as { weightsManifest: { paths: string[] }[] };
      await mkdir(join(root, 'work', name), { recursive: true });
      for (const [f, bytes] of files) await writeFile(join(root, 'work', name, f), bytes);
      bases.push({
        name,
        files,
        shard: json.weightsManifest[0]!.paths[0]!,
        reference: await readModelFiles(path),
      });
    }
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it(`reads correctly or refuses with a code ${CASES} mutated model folders`, async () => {
    const next = seededRandom(0x24_04_02);
    const pick = picker(next);
    const seen = new Map<string, number>();
    let slowest = 0;
    for (let i = 0; i < CASES; i++) {
      const base = bases[i % bases.length]!;
      // Each base has one working folder; a case changes one file and puts it back after.
      const folder = join(root, 'work', base.name);
      const model = join(folder, 'model.json');
      const shard = join(folder, base.shard);
      let change: string;
      let swap: FileSwap | undefined;
      switch (pick(8)) {
        case 0:
        case 1:
          change = 'shard bytes';
          await writeFile(shard, mutateBytes(base.files.get(base.shard)!, pick));
          break;
        case 2:
          change = 'model.json bytes';
          await writeFile(model, mutateBytes(base.files.get('model.json')!, pick));
          break;
        case 3: {
          change = 'model.json values';
          const json = JSON.parse(Buffer.from(base.files.get('model.json')!).toString()) as unknown;
          const places = slots(json);
          for (let r = 1 + pick(3); r > 0; r--) {
            const { holder, key } = places[pick(places.length)]!;
            holder[key] = hostile(pick);
          }
          await writeFile(model, JSON.stringify(json));
          break;
        }
        case 4:
        case 5:
          swap = FILE_SWAPS[pick(FILE_SWAPS.length)]!;
          change = `shard ${swap}`;
          await swapFile(shard, swap, support);
          break;
        case 6:
          swap = FILE_SWAPS[pick(FILE_SWAPS.length)]!;
          change = `model.json ${swap}`;
          await swapFile(model, swap, support);
          break;
        default:
          change = 'none';
      }
      const start = performance.now();
      const memory = process.memoryUsage().arrayBuffers;
      let result: string;
      try {
        const files = await readModelFiles(model);
        // What the import reads next: the topology (a GraphModel's nodes, or the Keras layers).
        if (isGraphModelJson(files.modelJson)) parseGraphModel(files);
        else parseTopology(files.modelJson, model);
        for (const w of files.weights) expect(w.data.length).toBe(w.shape.reduce((n, d) => n * d, 1));
        if (change === 'none' || swap === 'link-inside')
          expect(weightsOf(files)).toEqual(weightsOf(base.reference));
        result = 'read';
      } catch (error) {
        if (!isTransplantError(error))
          throw new Error(
            `case ${i} (${base.name}, ${change}): ${error instanceof Error ? error.stack : String(error)}`,
          );
        result = error.code;
      }
      const ms = performance.now() - start;
      slowest = Math.max(slowest, ms);
      // No hang, no big allocation (a 16 GiB sparse file, a 2³¹-element shape, /dev/zero).
      expect([i, change, ms < 2_000]).toEqual([i, change, true]);
      expect([i, change, process.memoryUsage().arrayBuffers - memory < 64 * 2 ** 20]).toEqual([
        i,
        change,
        true,
      ]);
      if (swap !== undefined && REFUSED.includes(swap))
        expect([i, change, result]).toEqual([i, change, 'E_IMPORT_MODEL']);
      if (change === 'none' || swap === 'link-inside')
        expect([i, change, result]).toEqual([i, change, 'read']);
      // A shard of 16 GiB is more than any manifest here describes; a model.json more than allowed.
      if (swap === 'sparse-huge') expect([i, change, result]).toEqual([i, change, 'E_IMPORT_MODEL']);
      const key = `${change}: ${result}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
      await restore(folder, base, change.startsWith('model.json') ? 'model.json' : base.shard, swap);
    }
    console.log(
      `model folder fuzz: ${CASES} cases, slowest ${slowest.toFixed(0)} ms:`,
      Object.fromEntries([...seen].sort()),
    );
    expect([...seen.keys()].filter((k) => !/: (read|E_IMPORT_MODEL|E_IMPORT_SPLIT)$/.test(k))).toEqual([]);
    expect(seen.get('none: read')).toBeGreaterThan(0);
    expect(seen.get('shard link-inside: read')).toBeGreaterThan(0);
    expect(seen.get('shard link-outside: E_IMPORT_MODEL')).toBeGreaterThan(0);
  });
});
