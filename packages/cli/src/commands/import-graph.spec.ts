import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Network,
  PluginRegistry,
  decodeWeightsManifest,
  exportLayersModel,
  disposeModule,
  graphFixture,
  importGraphModel,
  moduleArtifact,
  moduleFromManifest,
  predictImage,
  readJsModuleLiteral,
  readModelFiles,
  writeGraphFixture,
} from '@transplant/composer';
import { selectBackend } from '@transplant/core';
import { decodeImage, encodePng } from '@transplant/data';
import { importedCategory, importedCls, importedSeg } from '@transplant/plugin-layers-graph';
import { graphCategory, graphCls, graphSeg } from '@transplant/plugin-tf-graph';
import { FolderStore, Registry } from '@transplant/registry';
import { createPlatform } from '@transplant/platform';
import { importCommand } from './import';

const plugins = () =>
  new PluginRegistry([importedCategory, importedCls, importedSeg, graphCategory, graphCls, graphSeg]);
const meta = {
  version: '1.0.0',
  generatedBy: 'transplant/0.1.0',
  provenance: { data: 'test', seed: 0, steps: 0, backend: 'cpu' },
  card: { metrics: [] },
};

async function run(
  ...argv: string[]
): Promise<{ value?: Record<string, unknown>; code?: string; message?: string }> {
  const program = new Command('transplant')
    .option('--backend <id>')
    .option('--registry <location>')
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
    return { code: (error as { code?: string }).code!, message: (error as Error).message };
  }
}

async function codeOf(
  p: Promise<unknown> | (() => unknown),
): Promise<{ code?: string; message: string; details?: unknown }> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (error) {
    return error as { code?: string; message: string; details?: unknown };
  }
  throw new Error('expected an error');
}

/** Stock tfjs on the fixture's own files: quantised weights decoded by tfjs, not by us. */
async function stockGraph(): Promise<tf.GraphModel> {
  const { json, weights } = graphFixture();
  const manifest = (json['weightsManifest'] as { weights: tf.io.WeightsManifestEntry[] }[])[0]!.weights;
  return tf.loadGraphModel(
    tf.io.fromMemory({
      modelTopology: json['modelTopology'] as object,
      weightSpecs: manifest,
      weightData: weights.buffer.slice(
        weights.byteOffset,
        weights.byteOffset + weights.byteLength,
      ) as ArrayBuffer,
    }),
  );
}

const maxDifference = (a: tf.Tensor, b: tf.Tensor) =>
  tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);

describe('transplant import of a GraphModel (TF ops)', () => {
  let dir: string;
  let model: string;
  let stock: tf.GraphModel;
  let images: tf.Tensor4D;
  beforeAll(async () => {
    await selectBackend({ requested: 'cpu', env: {} });
    dir = await mkdtemp(join(tmpdir(), 'transplant-import-graph-'));
    model = await writeGraphFixture(join(dir, 'tiny'));
    stock = await stockGraph();
    images = tf.randomUniform([3, 16, 16, 3], 0, 1, 'float32', 11) as tf.Tensor4D;
  });
  afterAll(async () => {
    stock.dispose();
    images.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it.each([
    ['seg', 'maps', [2, 0], [3, 16, 16, 2]],
    ['cls', 'logits', [], [3, 2]],
  ] as const)(
    'a %s head split at a node equals stock tfjs on the quantised original, and frees every tensor',
    async (task, output, channels, shape) => {
      const start = tf.memory().numTensors;
      const g = await importGraphModel(plugins(), {
        model: await readModelFiles(model),
        split: 'se',
        output,
        category: 'cat',
        task,
        inputRange: [0, 255],
        channels,
      });
      g.original.dispose();
      expect(g.feature).toMatchObject({
        role: 'feature-map',
        stride: 2,
        values: 'real',
        shape: [null, 8, 8, 4],
      });
      expect(g.task.ports.input).toEqual(g.category.ports.output);
      const network = Network.create(
        [g.category, g.task],
        [{ category: g.category.name, task: g.task.name }],
      );
      const actual = network.run(g.category.name, g.task.name, images);
      // Stock tfjs runs the batch-1 graph one image at a time; the modules run the batch of 3.
      const expected = tf.tidy(() =>
        tf.concat(
          [0, 1, 2].map((i) => {
            const x = tf.slice(images, [i, 0, 0, 0], [1, -1, -1, -1]);
            const out = stock.execute(tf.mul(x, 255), output) as tf.Tensor;
            return channels.length > 0 ? tf.gather(out, [...channels], 3) : out;
          }),
        ),
      );
      expect(actual.shape).toEqual(shape);
      expect(maxDifference(actual, expected)).toBeLessThanOrEqual(1e-5);
      tf.dispose([actual, expected]);
      network.dispose();
      expect(tf.memory().numTensors).toBe(start);
    },
  );

  it('predict names the kept classes, and draws each in its colour', async () => {
    const g = await importGraphModel(plugins(), {
      model: await readModelFiles(model),
      split: 'se',
      output: 'maps',
      category: 'cat',
      task: 'seg',
      inputRange: [0, 255],
      channels: [2, 0],
      labels: ['dog', 'bird'],
    });
    g.original.dispose();
    const network = Network.create([g.category, g.task], [{ category: g.category.name, task: g.task.name }]);
    const png = join(dir, 'photo.png');
    const rgb = Uint8Array.from({ length: 16 * 16 * 3 }, (_, i) => (i * 53) % 256);
    await writeFile(png, await encodePng({ width: 16, height: 16, rgb }));
    const start = tf.memory().numTensors;
    const p = await predictImage({
      network,
      link: { category: g.category.name, task: g.task.name },
      image: png,
    });
    expect(tf.memory().numTensors).toBe(start);
    if (p.task !== 'seg') throw new Error('expected a seg prediction');
    expect(p.classes.map((c) => [c.channel, c.name])).toEqual([
      [0, 'dog'],
      [1, 'bird'],
    ]);
    for (const c of p.classes) {
      expect(c.peak).toBeGreaterThan(0);
      expect(c.peak).toBeLessThan(1);
      for (const [x, y, q] of c.centres) expect(x >= 0 && y >= 0 && x < 16 && y < 16 && q >= 0.3).toBe(true);
    }
    expect((await decodeImage(p.overlay)).width).toBe(256);
    network.dispose();
  });

  it('refuses to export a graph link as a LayersModel (tfjs cannot write its config back loadably)', async () => {
    const g = await importGraphModel(plugins(), {
      model: await readModelFiles(model),
      split: 'se',
      output: 'maps',
      category: 'cat',
      task: 'seg',
    });
    g.original.dispose();
    const network = Network.create([g.category, g.task], [{ category: g.category.name, task: g.task.name }]);
    await expect(
      exportLayersModel(network, {
        link: { category: g.category.name, task: g.task.name },
        directory: join(dir, 'export'),
        generatedBy: 'test',
      }),
    ).rejects.toMatchObject({ code: 'E_INVALID_ARGUMENT' });
    expect(existsSync(join(dir, 'export', 'model.json'))).toBe(false);
    network.dispose();
  });

  it('passes gradients through an imported head (an adapter below it can learn) without leaking', async () => {
    const g = await importGraphModel(plugins(), {
      model: await readModelFiles(model),
      split: 'se',
      output: 'maps',
      category: 'cat',
      task: 'seg',
    });
    g.original.dispose();
    const start = tf.memory().numTensors;
    const feature = tf.randomUniform([2, 8, 8, 4], 0, 1, 'float32', 3);
    const grad = tf.grad((x: tf.Tensor) => tf.sum(g.task.model.apply(x) as tf.Tensor))(feature);
    const norm = tf.tidy(() => tf.sum(tf.abs(grad)).dataSync()[0]!);
    expect(Number.isFinite(norm) && norm > 0).toBe(true);
    tf.dispose([feature, grad]);
    expect(tf.memory().numTensors).toBe(start);
    [g.category, g.task].forEach(disposeModule);
  });

  it('warns when the chosen output is a probability (Sigmoid), naming the node to cut before it', async () => {
    const squashed = await importGraphModel(plugins(), {
      model: await readModelFiles(model),
      split: 'skip',
      output: 'gate',
      category: 'cat',
      task: 'seg',
    });
    const logits = await importGraphModel(plugins(), {
      model: await readModelFiles(model),
      split: 'se',
      output: 'maps',
      category: 'cat',
      task: 'seg',
    });
    for (const g of [squashed, logits]) {
      g.original.dispose();
      [g.category, g.task].forEach(disposeModule);
    }
    expect(squashed.warnings).toEqual([
      expect.stringMatching(/output node gate is a Sigmoid.*probabilities.*--output m$/),
    ]);
    expect(logits.warnings).toEqual([]);
  });

  it('refuses cuts a skip connection crosses (naming where to cut), unsupported ops, and unchosen outputs', async () => {
    const files = await readModelFiles(model);
    const across = await codeOf(
      importGraphModel(plugins(), {
        model: files,
        split: 'dw',
        output: 'maps',
        category: 'cat',
        task: 'seg',
      }),
    );
    expect(across.code).toBe('E_IMPORT_SPLIT');
    expect(across.message).toContain('skip reads c1');
    expect((across.details as { splitPoints: string[] }).splitPoints).toEqual([
      'scaled',
      'c1',
      'skip',
      'se',
      'up',
      'cat',
      'head',
      'head/add',
    ]);
    const two = await codeOf(
      importGraphModel(plugins(), { model: files, split: 'se', category: 'cat', task: 'seg' }),
    );
    expect(two.code).toBe('E_IMPORT_SPLIT');
    expect(two.message).toMatch(/2 outputs \((maps, logits|logits, maps)\)/);
    const json = graphFixture().json as { modelTopology: { node: { name: string; op: string }[] } };
    json.modelTopology.node.find((n) => n.name === 'gate')!.op = 'Erf';
    const erf = await writeGraphFixture(join(dir, 'erf'), json);
    const unsupported = await codeOf(
      importGraphModel(plugins(), {
        model: await readModelFiles(erf),
        split: 'se',
        output: 'maps',
        category: 'cat',
        task: 'seg',
      }),
    );
    expect(unsupported.code).toBe('E_IMPORT_MODEL');
    expect(unsupported.message).toContain('Erf (node gate) is not supported');
    const short = graphFixture().json as { modelTopology: { node: { name: string; input?: string[] }[] } };
    short.modelTopology.node.find((n) => n.name === 'head')!.input = ['cat'];
    const arity = await codeOf(
      importGraphModel(plugins(), {
        model: await readModelFiles(await writeGraphFixture(join(dir, 'short'), short)),
        split: 'se',
        output: 'maps',
        category: 'cat',
        task: 'seg',
      }),
    );
    expect(arity.message).toContain('Conv2D node head reads 1 inputs, it needs 2');
    const wrongTask = await codeOf(
      importGraphModel(plugins(), {
        model: files,
        split: 'se',
        output: 'logits',
        category: 'cat',
        task: 'seg',
      }),
    );
    expect(wrongTask.code).toBe('E_IMPORT_MODEL');
    const badChannel = await codeOf(
      importGraphModel(plugins(), {
        model: files,
        split: 'se',
        output: 'maps',
        category: 'cat',
        task: 'seg',
        channels: [3],
      }),
    );
    expect(badChannel.message).toContain('channels 3 are not among the output');
  });

  it('survives publish → fetch → moduleFromManifest bit-identically', async () => {
    const registry = new Registry(new FolderStore(join(dir, 'registry')));
    const g = await importGraphModel(plugins(), {
      model: await readModelFiles(model),
      split: 'se',
      output: 'maps',
      category: 'cat',
      task: 'seg',
      name: 'tiny-graph',
    });
    g.original.dispose();
    for (const m of [g.category, g.task]) {
      const artifact = moduleArtifact(m, meta);
      await registry.publish(artifact);
      const fetched = await registry.fetch(`${m.name}@1.0.0`);
      const again = moduleFromManifest(plugins(), fetched.manifest, fetched.weights);
      expect(again.ports).toEqual(m.ports);
      const input = tf.randomUniform([2, ...(m.ports.input.shape.slice(1) as number[])], 0, 1, 'float32', 3);
      const [a, b] = [m, again].map((x) =>
        tf.tidy(() => Array.from((x.model.predict(input) as tf.Tensor).dataSync())),
      );
      expect(b).toEqual(a);
      input.dispose();
      disposeModule(again);
      disposeModule(m);
    }
  });

  it('the CLI imports it, checks it, picks classes by name, and refuses bad flags with E_USAGE', async () => {
    const labels = join(dir, 'labels.txt');
    await writeFile(labels, 'bird\ncat\ndog\n');
    const base = [
      'import',
      '--model',
      model,
      '--split',
      'se',
      '--output',
      'maps',
      '--category',
      'cat',
      '--task',
      'seg',
    ];
    const ok = await run(
      ...base,
      '--classes',
      'dog,bird',
      '--labels',
      labels,
      '--input-range',
      '0,255',
      '--out',
      join(dir, 'out'),
    );
    expect(ok.code).toBeUndefined();
    expect(ok.value!['difference']).toBeLessThanOrEqual(1e-4);
    expect(existsSync(join(dir, 'out', 'cat-seg-imported-head', 'manifest.json'))).toBe(true);
    const head = JSON.parse(
      await readFile(join(dir, 'out', 'cat-seg-imported-head', 'manifest.json'), 'utf8'),
    );
    expect(JSON.stringify(head)).toContain('"outputChannels":[2,0]');
    expect((await run(...base, '--input-range', '255,0', '--out', dir)).code).toBe('E_USAGE');
    expect((await run(...base, '--classes', 'cat', '--out', dir)).code).toBe('E_USAGE');
    expect((await run(...base, '--classes', 'horse', '--labels', labels, '--out', dir)).code).toBe('E_USAGE');
    expect((await run(...base, '--channels', '1,x', '--out', dir)).code).toBe('E_USAGE');
    expect((await run(...base, '--input-range', ',255', '--out', dir)).code).toBe('E_USAGE');
    expect((await run(...base, '--classes', 'dog,', '--labels', labels, '--out', dir)).code).toBe('E_USAGE');
  });
});

describe('models wrapped as JavaScript modules, and hostile weight files', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'transplant-js-model-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const wrap = (literal: string) =>
    `!function(e){"object"==typeof exports?module.exports=e():this.model=e()}(function(){return function(){}({1:[function(e,a,n){a.exports=${literal}},{}]},{},[1])(1)});`;

  it('reads the exported literal without running the file, and equals the JSON files', async () => {
    const { json, weights } = graphFixture();
    // Minifier style: unquoted keys, !0 / !1 for booleans.
    const literal = JSON.stringify(json)
      .replace(/"([A-Za-z_][A-Za-z0-9_]*)":/g, '$1:')
      .replace(/\btrue\b/g, '!0')
      .replace(/\bfalse\b/g, '!1');
    await writeFile(join(dir, 'model.min.js'), wrap(literal));
    await writeFile(
      join(dir, 'group1-shard1of1.bin.min.js'),
      wrap(JSON.stringify(Buffer.from(weights).toString('base64'))),
    );
    const fromJs = await readModelFiles(join(dir, 'model.min.js'));
    const fromJson = await readModelFiles(await writeGraphFixture(join(dir, 'json')));
    expect(fromJs.modelJson).toEqual(fromJson.modelJson);
    expect(fromJs.weights).toEqual(fromJson.weights);
    expect(readJsModuleLiteral('x.exports={a:-1,b:[!0,!1,null,"s"],"c d":.5}', 't')).toEqual({
      a: -1,
      b: [true, false, null, 's'],
      'c d': 0.5,
    });
  });

  it.each([
    ['a call', 'module.exports={a:require("fs")}'],
    ['an identifier', 'module.exports={a:b}'],
    ['a getter', 'module.exports={get a(){return 1}}'],
    ['two exports', 'a.exports={x:1};b.exports={y:2}'],
    ['no export', 'var x = {a: 1}'],
    ['a computed key', 'module.exports={[k]:1}'],
    ['a __proto__ key', 'module.exports={__proto__:{polluted:1}}'],
    ['not JavaScript', 'module.exports = {'],
  ])('refuses %s with E_IMPORT_MODEL', (_what, text) => {
    expect(() => readJsModuleLiteral(text, 't')).toThrow(expect.objectContaining({ code: 'E_IMPORT_MODEL' }));
  });

  it('dequantises uint8, uint16 and float16 (subnormals too), float and int32, exactly as tfjs does', async () => {
    const { json, weights } = graphFixture();
    const manifest = json['weightsManifest'] as { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
    const extra: { spec: tf.io.WeightsManifestEntry; bytes: Uint8Array }[] = [
      {
        spec: {
          name: 'q8i',
          shape: [5],
          dtype: 'int32',
          quantization: { dtype: 'uint8', min: -1, scale: 0.3 },
        },
        bytes: new Uint8Array([0, 1, 2, 3, 255]),
      },
      {
        spec: {
          name: 'q16',
          shape: [3],
          dtype: 'float32',
          quantization: { dtype: 'uint16', min: -2, scale: 1 / 4096 },
        },
        bytes: new Uint8Array(new Uint16Array([0, 4096, 65535]).buffer),
      },
      // ±0, the smallest and largest subnormals, ±Inf, NaN, 1.
      {
        spec: { name: 'half', shape: [8], dtype: 'float32', quantization: { dtype: 'float16' } },
        bytes: new Uint8Array(
          new Uint16Array([0x0000, 0x8000, 0x0001, 0x03ff, 0x7c00, 0xfc00, 0x7e00, 0x3c00]).buffer,
        ),
      },
    ];
    const all = new Uint8Array([...weights, ...extra.flatMap((e) => [...e.bytes])]);
    const specs = [...manifest[0]!.weights, ...extra.map((e) => e.spec)];
    const ours = decodeWeightsManifest(
      [{ paths: ['w.bin'], weights: specs }],
      new Map([['w.bin', all]]),
      't',
    );
    const theirs = tf.io.decodeWeights(all.buffer.slice(0) as ArrayBuffer, specs);
    expect(ours.map((w) => w.name)).toEqual(specs.map((s) => s.name));
    for (const w of ours) expect(Array.from(w.data)).toEqual(Array.from(theirs[w.name]!.dataSync()));
    expect(Array.from(ours.find((w) => w.name === 'q8i')!.data)).toEqual([-1, -1, 0, 0, 76]);
    tf.dispose(Object.values(theirs));
  });

  it('refuses absurd shapes, wrong lengths and paths outside the folder before reading them', async () => {
    const { json, weights } = graphFixture();
    const manifest = json['weightsManifest'] as { paths: string[]; weights: Record<string, unknown>[] }[];
    const files = new Map([['group1-shard1of1.bin', weights]]);
    const huge = [{ ...manifest[0]!, weights: [{ name: 'w', shape: [2 ** 31], dtype: 'float32' }] }];
    expect(() => decodeWeightsManifest(huge, files, 't')).toThrow(/declares 2147483648 elements/);
    const negative = [{ ...manifest[0]!, weights: [{ name: 'w', shape: [-1, 4], dtype: 'float32' }] }];
    expect(() => decodeWeightsManifest(negative, files, 't')).toThrow(
      expect.objectContaining({ code: 'E_IMPORT_MODEL' }),
    );
    const longer = new Map([['group1-shard1of1.bin', new Uint8Array([...weights, 0, 0, 0, 0])]]);
    expect(() => decodeWeightsManifest(manifest, longer, 't')).toThrow(
      /hold \d+ bytes, the manifest describes/,
    );
    const shorter = new Map([['group1-shard1of1.bin', weights.slice(0, -1)]]);
    expect(() => decodeWeightsManifest(manifest, shorter, 't')).toThrow(
      /hold \d+ bytes, the manifest describes/,
    );
    // A shard larger than its group describes is refused from its size, before it is read.
    await writeFile(join(dir, 'big.json'), JSON.stringify(json));
    await writeFile(join(dir, 'group1-shard1of1.bin'), new Uint8Array(weights.byteLength + 1));
    await expect(readModelFiles(join(dir, 'big.json'))).rejects.toThrow(
      /more than the \d+ its manifest group describes/,
    );
    const outside = { ...json, weightsManifest: [{ ...manifest[0]!, paths: ['../../etc/passwd'] }] };
    await writeFile(join(dir, 'outside.json'), JSON.stringify(outside));
    await expect(readModelFiles(join(dir, 'outside.json'))).rejects.toThrow(/outside the model's folder/);
  });
});
