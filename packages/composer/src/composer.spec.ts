import { createServer, type Server } from 'node:http';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, beforeEach, afterEach, describe, expect, it } from 'vitest';
import { selectBackend } from '@transplant/core';
import { FolderStore, Registry } from '@transplant/registry';
import { Composer } from './composer';
import { exportLayersModel } from './export-layers-model';
import { createModule, moduleFromManifest } from './module-instance';
import { Network } from './network';
import { PluginRegistry } from './plugin-registry';
import { moduleArtifact, publishModule, publishNetwork, type PublishMeta } from './publish';
import { tinyAdapter, tinyCategory, tinyTask } from './testing/tiny-plugins';

const meta: PublishMeta = {
  version: '1.0.0',
  generatedBy: 'transplant/0.1.0',
  provenance: { data: 'test', seed: 1, steps: 0, backend: 'cpu' },
  card: { metrics: [] },
};
const plugins = () => new PluginRegistry([tinyCategory, tinyTask, tinyAdapter]);
const images = () => tf.randomUniform([3, 8, 8, 3], 0, 1, 'float32', 11) as tf.Tensor4D;

async function expectCode(promise: Promise<unknown> | (() => unknown), code: string): Promise<void> {
  const run = typeof promise === 'function' ? Promise.resolve().then(promise) : promise;
  await expect(run).rejects.toMatchObject({ code });
}

describe('composer', () => {
  let root: string;
  let registry: Registry;
  let weightReads: string[];

  beforeAll(async () => {
    await selectBackend({ requested: 'cpu', env: {} });
  });
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'transplant-composer-'));
    const store = new FolderStore(root);
    // Every blob read goes through openBlob (getBlob too, in the folder store).
    const openBlob = store.openBlob.bind(store);
    weightReads = [];
    store.openBlob = async (name, digest) => {
      weightReads.push(digest);
      return openBlob(name, digest);
    };
    registry = new Registry(store);
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function publishSpecific(p: PluginRegistry, prefix: string, seed: number) {
    const category = createModule(p, {
      name: `${prefix}-features`,
      family: 'tiny-category',
      seed,
      category: prefix,
    });
    const task = createModule(p, { name: `${prefix}-head`, family: 'tiny-task', seed: seed + 1 });
    const network = Network.create([category, task], [{ category: category.name, task: task.name }]);
    await publishModule(registry, category, meta);
    await publishModule(registry, task, meta);
    await publishNetwork(registry, network, { ...meta, name: `${prefix}-cls` });
    return network;
  }

  it('rebuilds a published specific network bit-identically, from module references and from the network', async () => {
    const p = plugins();
    const original = await publishSpecific(p, 'cat', 3);
    const x = images();
    const before = original.run('cat-features', 'cat-head', x);
    const composed = await new Composer(registry, p).compose([
      { category: 'cat-features@1.0.0', task: 'cat-head' },
    ]);
    const loaded = await new Composer(registry, p).load('cat-cls');
    expect(loaded.manifest.kind).toBe('network');
    for (const net of [composed, loaded.network]) {
      const after = net.run('cat-features', 'cat-head', x);
      expect(Array.from(after.dataSync())).toEqual(Array.from(before.dataSync()));
      after.dispose();
      net.dispose();
    }
    tf.dispose([x, before]);
    original.dispose();
  });

  it('checks ports on the manifests before reading any weights (E_PORT_MISMATCH names both modules)', async () => {
    const p = plugins();
    const category = createModule(p, {
      name: 'cat-features',
      family: 'tiny-category',
      options: { channels: 4 },
      category: 'cat',
    });
    const task = createModule(p, { name: 'wide-head', family: 'tiny-task', options: { channels: 6 } });
    await publishModule(registry, category, meta);
    await publishModule(registry, task, meta);
    const weightDigests = [category.published!.digest, task.published!.digest];
    weightReads.length = 0;
    const error = await new Composer(registry, p)
      .compose([{ category: 'cat-features', task: 'wide-head' }])
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'E_PORT_MISMATCH' });
    expect(String(error)).toContain('cat-features@1.0.0 (output) → wide-head@1.0.0 (input): channels 4 ≠ 6');
    expect(weightReads.filter((d) => weightDigests.includes(d))).toEqual([]);
    // The spy sees weight reads when there are some.
    await registry.fetch('cat-features@1.0.0');
    expect(weightReads).toContain(category.published!.digest);
    [category, task].forEach((m) => m.built.layers.forEach((l) => l.dispose()));
  });

  it('refuses a module of the wrong kind in a link, before reading weights', async () => {
    const p = plugins();
    const network = await publishSpecific(p, 'dog', 5);
    network.dispose();
    await expectCode(
      new Composer(registry, p).compose([{ category: 'dog-head', task: 'dog-features' }]),
      'E_COMPOSITION_INVALID',
    );
    await expectCode(new Composer(registry, p).load('dog-features'), 'E_COMPOSITION_INVALID');
  });

  it('builds a generic network whose links share modules, and frees every tensor', async () => {
    const p = plugins();
    const start = tf.memory().numTensors;
    const cat = createModule(p, { name: 'cat-features', family: 'tiny-category', seed: 1, category: 'cat' });
    const dog = createModule(p, { name: 'dog-features', family: 'tiny-category', seed: 2, category: 'dog' });
    const head = createModule(p, { name: 'animal-head', family: 'tiny-task', seed: 3 });
    const adapter = createModule(p, { name: 'dog-adapter', family: 'tiny-adapter', seed: 4 });
    const network = Network.create(
      [cat, dog, head, adapter],
      [
        { category: 'cat-features', task: 'animal-head' },
        { category: 'dog-features', task: 'animal-head', adapter: 'dog-adapter' },
      ],
    );
    const x = images();
    const a = network.run('cat-features', 'animal-head', x);
    const b = network.run('dog-features', 'animal-head', x);
    expect(a.shape).toEqual([3, 1]);
    expect(Array.from(a.dataSync())).not.toEqual(Array.from(b.dataSync()));
    const shared = network.model('cat-features', 'animal-head').getLayer('animal-head__logit');
    expect(network.model('dog-features', 'animal-head').getLayer('animal-head__logit')).toBe(shared);
    expect(() => network.run('cat-features', 'nothing', x)).toThrow(
      expect.objectContaining({ code: 'E_COMPOSITION_INVALID' }),
    );
    tf.dispose([a, b, x]);
    network.dispose();
    expect(tf.memory().numTensors).toBe(start);
  });

  it('refuses malformed compositions with codes', () => {
    const p = plugins();
    const cat = createModule(p, { name: 'cat-features', family: 'tiny-category', category: 'cat' });
    const head = createModule(p, { name: 'animal-head', family: 'tiny-task' });
    const wide = createModule(p, { name: 'wide-head', family: 'tiny-task', options: { channels: 5 } });
    expect(() => Network.create([cat, head], [])).toThrow(
      expect.objectContaining({ code: 'E_COMPOSITION_INVALID' }),
    );
    expect(() => Network.create([cat, head], [{ category: 'animal-head', task: 'cat-features' }])).toThrow(
      expect.objectContaining({ code: 'E_COMPOSITION_INVALID' }),
    );
    expect(() =>
      Network.create([cat, head, wide], [{ category: 'cat-features', task: 'animal-head' }]),
    ).toThrow(/wide-head are on no link/);
    expect(() => Network.create([cat, wide], [{ category: 'cat-features', task: 'wide-head' }])).toThrow(
      expect.objectContaining({ code: 'E_PORT_MISMATCH' }),
    );
    [cat, head, wide].forEach((m) => m.built.layers.forEach((l) => l.dispose()));
  });

  it('trains only the modules marked trainable', () => {
    const p = plugins();
    const cat = createModule(p, { name: 'cat-features', family: 'tiny-category', seed: 1, category: 'cat' });
    const head = createModule(p, { name: 'animal-head', family: 'tiny-task', seed: 3 });
    const adapter = createModule(p, { name: 'cat-adapter', family: 'tiny-adapter', seed: 4 });
    const network = Network.create(
      [cat, head, adapter],
      [{ category: 'cat-features', task: 'animal-head', adapter: 'cat-adapter' }],
    );
    const snapshot = () =>
      Object.fromEntries(
        [cat, head, adapter].flatMap((m) =>
          m.built.layers.flatMap((l) =>
            l.weights.map((w) => [w.originalName, Array.from(w.read().dataSync())]),
          ),
        ),
      );
    const before = snapshot();
    const trainable = network.setTrainable(['cat-adapter']);
    expect(trainable.map((v) => v.originalName).sort()).toEqual([
      'cat-adapter__conv/bias',
      'cat-adapter__conv/kernel',
    ]);
    const x = images();
    const model = network.model('cat-features', 'animal-head');
    const optimizer = tf.train.sgd(0.5);
    for (let i = 0; i < 3; i++) {
      const loss = optimizer.minimize(
        () => tf.mean(tf.square(tf.sub(model.apply(x, { training: true }) as tf.Tensor, 3))) as tf.Scalar,
        true,
        trainable.map((v) => v.read() as tf.Variable),
      );
      loss!.dispose();
    }
    const after = snapshot();
    for (const name of Object.keys(before)) {
      if (name.startsWith('cat-adapter__')) expect(after[name]).not.toEqual(before[name]);
      else expect(after[name]).toEqual(before[name]);
    }
    optimizer.dispose();
    x.dispose();
    network.dispose();
  });

  describe('export', () => {
    let server: Server;
    let directory: string;
    let base: string;
    beforeAll(async () => {
      directory = await mkdtemp(join(tmpdir(), 'transplant-export-'));
      server = createServer((request, response) => {
        readFile(join(directory, request.url!.slice(1))).then(
          (bytes) => response.end(bytes),
          () => response.writeHead(404).end(),
        );
      });
      await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
      const address = server.address() as { port: number };
      base = `http://127.0.0.1:${address.port}`;
    });
    afterAll(async () => {
      await new Promise((done) => server.close(done));
      await rm(directory, { recursive: true, force: true });
    });

    it('writes a link as a LayersModel that stock tf.loadLayersModel loads, with the same outputs', async () => {
      const p = plugins();
      const cat = createModule(p, {
        name: 'cat-features',
        family: 'tiny-category',
        seed: 1,
        category: 'cat',
      });
      const head = createModule(p, { name: 'animal-head', family: 'tiny-task', seed: 3 });
      const adapter = createModule(p, { name: 'cat-adapter', family: 'tiny-adapter', seed: 4 });
      const network = Network.create(
        [cat, head, adapter],
        [{ category: 'cat-features', task: 'animal-head', adapter: 'cat-adapter' }],
      );
      await exportLayersModel(network, {
        link: { category: 'cat-features', task: 'animal-head' },
        directory: join(directory, 'cat'),
        generatedBy: 'transplant/0.1.0',
      });
      const loaded = await tf.loadLayersModel(`${base}/cat/model.json`);
      const x = images();
      const expected = network.run('cat-features', 'animal-head', x);
      const actual = loaded.predict(x) as tf.Tensor;
      const difference = tf.max(tf.abs(tf.sub(expected, actual)));
      expect(difference.dataSync()[0]).toBeLessThanOrEqual(1e-5);
      tf.dispose([x, expected, actual, difference]);
      loaded.dispose();
      network.dispose();
    });
  });
});

describe('moduleFromManifest', () => {
  it('refuses a manifest whose ports are not what its family builds from its options', async () => {
    await selectBackend({ requested: 'cpu', env: {} });
    const p = plugins();
    const module = createModule(p, { name: 'cat-features', family: 'tiny-category', category: 'cat' });
    const { manifest, weights } = moduleArtifact(module, meta);
    const lying = {
      ...manifest,
      ports: { ...manifest.ports, output: { ...manifest.ports.output, stride: 4 } },
    };
    expect(() => moduleFromManifest(p, lying, weights)).toThrow(
      expect.objectContaining({ code: 'E_MANIFEST_INVALID' }),
    );
    expect(() =>
      moduleFromManifest(p, { ...manifest, family: { name: 'tiny-category', version: '2.0.0' } }, weights),
    ).toThrow(expect.objectContaining({ code: 'E_PLUGIN_UNKNOWN' }));
    const rebuilt = moduleFromManifest(p, manifest, weights);
    expect(rebuilt.published?.digest).toBe(manifest.weights.digest);
    [module, rebuilt].forEach((m) => m.built.layers.forEach((l) => l.dispose()));
  });
});

describe('composer references', () => {
  it('refuses two versions of one module in a network', async () => {
    await selectBackend({ requested: 'cpu', env: {} });
    const root = await mkdtemp(join(tmpdir(), 'transplant-composer-versions-'));
    const registry = new Registry(new FolderStore(root));
    const p = plugins();
    const cat = createModule(p, { name: 'cat-features', family: 'tiny-category', category: 'cat' });
    const head = createModule(p, { name: 'animal-head', family: 'tiny-task' });
    await publishModule(registry, cat, meta);
    await publishModule(registry, cat, { ...meta, version: '1.1.0' });
    await publishModule(registry, head, meta);
    await expectCode(
      new Composer(registry, p).compose([
        { category: 'cat-features@1.0.0', task: 'animal-head' },
        { category: 'cat-features@1.1.0', task: 'animal-head' },
      ]),
      'E_COMPOSITION_INVALID',
    );
    [cat, head].forEach((m) => m.built.layers.forEach((l) => l.dispose()));
    await rm(root, { recursive: true, force: true });
  });
});
