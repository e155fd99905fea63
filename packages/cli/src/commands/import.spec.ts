import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Composer,
  Network,
  PluginRegistry,
  disposeModule,
  importLayersModel,
  importModel,
  moduleArtifact,
  moduleFromManifest,
  readModelFiles,
  residualFixture,
  segFixture,
  sequentialFixture,
  writeModelFiles,
  type ModuleInstance,
} from '@transplant/composer';
import { selectBackend, validateManifest } from '@transplant/core';
import { importedCategory, importedCls, importedSeg } from '@transplant/plugin-layers-graph';
import { FolderStore, Registry, readModuleFolder } from '@transplant/registry';
import { createPlatform } from '@transplant/platform';
import { importCommand } from './import';

const plugins = () => new PluginRegistry([importedCategory, importedCls, importedSeg]);
const meta = {
  version: '1.0.0',
  generatedBy: 'transplant/0.1.0',
  provenance: { data: 'test', seed: 0, steps: 0, backend: 'cpu' },
  card: { metrics: [] },
};

/** Runs `transplant [globals] import …` through commander; returns the JSON output or the error code. */
async function run(...argv: string[]): Promise<{ value?: Record<string, unknown>; code?: string }> {
  const program = new Command('transplant')
    .option('--backend <id>')
    .option('--registry <location>')
    .option('--create')
    .option('--json')
    .exitOverride();
  let value: Record<string, unknown> | undefined;
  importCommand(program, {
    services: () => ({ ...createPlatform({}), plugins: plugins() }),
    globals: () => program.opts(),
    env: {},
    out: (v) => (value = v as Record<string, unknown>),
    err: () => undefined,
    progress: () => ({
      update: () => undefined,
      note: () => undefined,
      done: () => undefined,
      abort: () => undefined,
    }),
  });
  try {
    await program.parseAsync(['--backend', 'cpu', ...argv], { from: 'user' });
    return { value: value! };
  } catch (error) {
    return { code: (error as { code?: string }).code! };
  }
}

function maxDifference(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

describe('transplant import', () => {
  let dir: string;
  const paths: Record<'residual' | 'sequential' | 'seg', string> = { residual: '', sequential: '', seg: '' };
  const originals: Partial<Record<keyof typeof paths, tf.LayersModel>> = {};
  let images: tf.Tensor4D;
  beforeAll(async () => {
    await selectBackend({ requested: 'cpu', env: {} });
    dir = await mkdtemp(join(tmpdir(), 'transplant-import-'));
    originals.residual = residualFixture();
    originals.sequential = sequentialFixture();
    originals.seg = segFixture();
    paths.residual = await writeModelFiles(originals.residual, join(dir, 'residual'), 'keras');
    paths.sequential = await writeModelFiles(originals.sequential, join(dir, 'sequential'));
    paths.seg = await writeModelFiles(originals.seg, join(dir, 'seg'));
    images = tf.randomUniform([3, 8, 8, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
  });
  afterAll(async () => {
    Object.values(originals).forEach((m) => m.dispose());
    images.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it.each([
    ['residual', 'relu', 'cls', 1, 'non-negative'],
    ['residual', 'add', 'cls', 1, 'real'],
    ['residual', 'stem', 'cls', 1, 'non-negative'],
    ['sequential', 'p1', 'cls', 2, 'non-negative'],
    ['seg', 'pool', 'seg', 2, 'non-negative'],
  ] as const)(
    '%s split at %s: category + task composed equal the original, and every tensor is freed',
    async (model, split, task, stride, values) => {
      const start = tf.memory().numTensors;
      const imported = importLayersModel(plugins(), {
        model: await readModelFiles(paths[model]),
        split,
        category: 'cat',
        task,
      });
      expect(imported.feature).toMatchObject({ role: 'feature-map', values, stride });
      expect(imported.task.ports.input).toEqual(imported.category.ports.output);
      const network = Network.create(
        [imported.category, imported.task],
        [{ category: imported.category.name, task: imported.task.name }],
      );
      const actual = network.run(imported.category.name, imported.task.name, images);
      const expected = originals[model]!.predict(images) as tf.Tensor;
      expect(actual.shape).toEqual(expected.shape);
      expect(maxDifference(actual, expected)).toBeLessThanOrEqual(1e-5);
      tf.dispose([actual, expected]);
      network.dispose();
      expect(tf.memory().numTensors).toBe(start);
    },
  );

  it('survives moduleArtifact → Registry.publish → fetch → moduleFromManifest bit-identically', async () => {
    const registry = new Registry(new FolderStore(join(dir, 'registry-roundtrip')));
    const imported = importLayersModel(plugins(), {
      model: await readModelFiles(paths.residual),
      split: 'relu',
      category: 'cat',
      task: 'cls',
      name: 'roundtrip',
    });
    const rebuilt: ModuleInstance[] = [];
    for (const m of [imported.category, imported.task]) {
      const artifact = moduleArtifact(m, meta);
      await registry.publish(artifact);
      const fetched = await registry.fetch(`${m.name}@1.0.0`);
      expect(Buffer.from(fetched.weights).equals(Buffer.from(artifact.weights))).toBe(true);
      const again = moduleFromManifest(plugins(), fetched.manifest, fetched.weights);
      expect(again.ports).toEqual(m.ports);
      const input = tf.randomUniform([2, ...(m.ports.input.shape.slice(1) as number[])], 0, 1, 'float32', 3);
      const [a, b] = [m, again].map((x) =>
        tf.tidy(() => Array.from((x.model.predict(input) as tf.Tensor).dataSync())),
      );
      expect(b).toEqual(a);
      input.dispose();
      rebuilt.push(again);
    }
    [imported.category, imported.task, ...rebuilt].forEach(disposeModule);
  });

  it('--out writes two valid module folders; --publish publishes the modules and a network that loads', async () => {
    const out = join(dir, 'out');
    const written = await run(
      'import',
      '--model',
      paths.residual,
      '--split',
      'pool',
      '--category',
      'cat',
      '--task',
      'cls',
      '--out',
      out,
    );
    expect(written.value).toMatchObject({ name: 'cat-cls-imported', difference: expect.any(Number) });
    expect(written.value!['difference']).toBeLessThanOrEqual(1e-5);
    for (const name of ['cat-cls-imported-features', 'cat-cls-imported-head']) {
      const folder = await readModuleFolder(join(out, name));
      expect(validateManifest(folder.manifest).family.name).toBe(
        name.endsWith('features') ? 'imported-category' : 'imported-cls',
      );
    }
    const location = join(dir, 'registry-cli');
    const published = await run(
      '--registry',
      location,
      '--create',
      'import',
      '--model',
      paths.sequential,
      '--split',
      'p1',
      '--category',
      'dog',
      '--task',
      'cls',
      '--name',
      'plain',
      '--publish',
    );
    expect(published.value!['published']).toEqual([
      'plain-features@1.0.0',
      'plain-head@1.0.0',
      'plain@1.0.0',
    ]);
    const { network } = await new Composer(new Registry(new FolderStore(location)), plugins()).load('plain');
    const actual = network.run('plain-features', 'plain-head', images);
    const expected = originals.sequential!.predict(images) as tf.Tensor;
    expect(maxDifference(actual, expected)).toBeLessThanOrEqual(1e-5);
    tf.dispose([actual, expected]);
    network.dispose();
  });

  it('warns when the output layer ends in a softmax (probabilities, not logits), and not otherwise', async () => {
    const L = tf.layers;
    const squashed = tf.sequential({
      layers: [
        L.conv2d({
          name: 'c1',
          inputShape: [8, 8, 3],
          filters: 2,
          kernelSize: 3,
          padding: 'same',
          activation: 'relu',
        }),
        L.flatten({ name: 'f' }),
        L.dense({ name: 'probs', units: 3, activation: 'softmax' }),
      ],
    });
    const path = await writeModelFiles(squashed, join(dir, 'softmax'));
    squashed.dispose();
    const warned = async (model: string, split: string) => {
      const lines: string[] = [];
      await importModel({
        plugins: plugins(),
        model,
        split,
        category: 'cat',
        task: 'cls',
        version: '1.0.0',
        generatedBy: 'test',
        check: false,
        warn: (line) => lines.push(line),
      });
      return lines;
    };
    expect(await warned(path, 'c1')).toEqual([
      expect.stringMatching(/output layer probs ends in a softmax.*probabilities.*logits/),
    ]);
    expect(await warned(paths.sequential, 'p1')).toEqual([]);
  });

  it('refuses with codes: a split inside the residual block or at an unknown layer, a wrong task, bad usage', async () => {
    const base = ['import', '--model', paths.residual, '--category', 'cat', '--out', join(dir, 'refused')];
    expect((await run(...base, '--split', 'b1', '--task', 'cls')).code).toBe('E_IMPORT_SPLIT');
    expect((await run(...base, '--split', 'nowhere', '--task', 'cls')).code).toBe('E_IMPORT_SPLIT');
    expect((await run(...base, '--split', 'relu', '--task', 'seg')).code).toBe('E_IMPORT_MODEL');
    expect((await run(...base, '--split', 'relu', '--task', 'det')).code).toBe('E_USAGE');
    expect(
      (
        await run(
          'import',
          '--model',
          paths.residual,
          '--split',
          'relu',
          '--category',
          'cat',
          '--task',
          'cls',
        )
      ).code,
    ).toBe('E_USAGE');
    expect((await run(...base, '--split', 'relu', '--task', 'cls', '--stride', 'two')).code).toBe('E_USAGE');
    expect((await run(...base, '--split', 'relu', '--task', 'cls', '--name', 'Bad_Name')).code).toBe(
      'E_MODULE_REF_INVALID',
    );
    expect(
      (
        await run(
          'import',
          '--model',
          join(dir, 'nothing.json'),
          '--split',
          'relu',
          '--category',
          'cat',
          '--task',
          'cls',
          '--out',
          dir,
        )
      ).code,
    ).toBe('E_IMPORT_MODEL');
  });
});
