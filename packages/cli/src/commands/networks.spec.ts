import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Network, createModule, publishModule, publishNetwork } from '@transplant/composer';
import { selectBackend } from '@transplant/core';
import { decodeImage, encodePng } from '@transplant/data';
import { FolderStore, Registry } from '@transplant/registry';
import { testPlugins } from '@transplant/platform/testing';
import { runCli } from '../program';

let dir: string;
let reg: string;

async function run(...argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(['--backend', 'cpu', '--registry', reg, ...argv], {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    env: {},
  });
  return { code, stdout, stderr };
}

const meta = (metric: string, value: number) => ({
  version: '1.0.0',
  generatedBy: 'transplant/0.1.0',
  provenance: { data: 'test', seed: 1, steps: 0, backend: 'cpu' },
  card: { metrics: [{ name: metric, value, on: 'test' }] },
});

/** Two tiny specific networks (16×16 images, an 8×8×8 map at stride 2) published into a temporary registry. */
beforeAll(async () => {
  await selectBackend({ requested: 'cpu', env: {} });
  dir = await mkdtemp(join(tmpdir(), 'transplant-cli-networks-'));
  reg = join(dir, 'registry');
  const registry = new Registry(new FolderStore(reg));
  const plugins = testPlugins();
  const map = { inputSize: 8, inputChannels: 8, inputStride: 2 };
  for (const [task, family, options] of [
    ['cls', 'task-cls', { ...map, convs: [], hidden: 4 }],
    ['seg', 'task-seg', { ...map, widths: [8, 4] }],
  ] as const) {
    const category = createModule(plugins, {
      name: `cat-${task}-features`,
      family: 'category-vgg',
      options: { inputSize: 16, blocks: [[4], [8]] },
      seed: 1,
      category: 'cat',
    });
    const head = createModule(plugins, { name: `cat-${task}-head`, family, options, seed: 2 });
    const network = Network.create([category, head], [{ category: category.name, task: head.name }]);
    const m = task === 'cls' ? meta('error-rate', 0.04) : meta('iou', 0.81);
    await publishModule(registry, category, m);
    await publishModule(registry, head, m);
    await publishNetwork(registry, network, { ...m, name: `cat-${task}` });
    network.dispose();
  }
  const rgb = Uint8Array.from({ length: 20 * 24 * 3 }, (_, i) => (i * 37) % 256);
  await writeFile(join(dir, 'cat.png'), await encodePng({ width: 24, height: 20, rgb }));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe('transplant predict / compose / export / plugins', () => {
  it('lists networks first, with their metrics', async () => {
    const { stdout } = await run('registry', 'list');
    const lines = stdout.trim().split('\n');
    expect(lines[1]).toMatch(/^cat-cls +network +1\.0\.0 +error-rate 0\.0400$/);
    expect(lines[2]).toMatch(/^cat-seg +network +1\.0\.0 +iou 0\.8100$/);
    expect(lines.slice(3).map((l) => l.split(/ +/)[1])).toEqual(['category', 'task', 'category', 'task']);
  });

  it('predicts a score with a classifier and writes a mask and an overlay with a segmenter', async () => {
    const cls = JSON.parse(
      (await run('--json', 'predict', '--net', 'cat-cls', '--image', join(dir, 'cat.png'))).stdout,
    );
    expect(cls.score).toBeCloseTo(1 / (1 + Math.exp(-cls.logit)), 6);
    const out = join(dir, 'overlay.png');
    const seg = JSON.parse(
      (await run('--json', 'predict', '--net', 'cat-seg', '--image', join(dir, 'cat.png'), '--out', out))
        .stdout,
    );
    expect(seg.overlay).toBe(out);
    const overlay = await decodeImage(out);
    expect([overlay.width, overlay.height]).toEqual([256, 256]);
    const mask = await decodeImage(seg.mask);
    expect([mask.width, mask.height]).toEqual([16, 16]);
    const on = Array.from({ length: 256 }, (_, i) => mask.rgb[i * 3]! > 0).filter(Boolean).length;
    expect(seg.foreground).toBeCloseTo(on / 256, 6);
  });

  it('composes a generic network from references, refuses wrong kinds, and predicts per link', async () => {
    const ok = await run(
      'compose',
      '--name',
      'cat-both',
      '--link',
      'cat-cls-features:cat-cls-head',
      '--link',
      'cat-seg-features@1.0.0:cat-seg-head',
    );
    expect(ok.stdout).toContain('published cat-both@1.0.0');
    const ambiguous = await run('predict', '--net', 'cat-both', '--image', join(dir, 'cat.png'));
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.stderr).toContain('E_USAGE');
    const picked = await run(
      '--json',
      'predict',
      '--net',
      'cat-both',
      '--task',
      'cat-cls-head',
      '--image',
      join(dir, 'cat.png'),
    );
    expect(JSON.parse(picked.stdout).task).toBe('cls');
    const wrong = await run('compose', '--name', 'bad', '--link', 'cat-cls-head:cat-cls-features');
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('E_COMPOSITION_INVALID');
    const mismatch = await run(
      'compose',
      '--name',
      'bad',
      '--link',
      'cat-cls-features:cat-seg-head:cat-cls-head',
    );
    expect(mismatch.stderr).toContain('E_COMPOSITION_INVALID');
  });

  it('exports a network as a LayersModel whose topology and weights agree', async () => {
    const out = join(dir, 'export');
    expect((await run('export', '--net', 'cat-cls', '--out', out)).code).toBe(0);
    const json = JSON.parse(await readFile(join(out, 'model.json'), 'utf8'));
    expect(json.format).toBe('layers-model');
    const bytes = (await readFile(join(out, 'weights.bin'))).byteLength;
    const specs = json.weightsManifest[0].weights as { shape: number[] }[];
    expect(specs.reduce((sum, w) => sum + 4 * w.shape.reduce((a, b) => a * b, 1), 0)).toBe(bytes);
  });

  it('lists the plugin families with their defaults', async () => {
    const list = JSON.parse((await run('--json', 'plugins')).stdout) as {
      family: string;
      defaults: Record<string, unknown>;
    }[];
    expect(list.map((p) => p.family)).toEqual(
      expect.arrayContaining(['category-vgg', 'task-cls', 'task-seg', 'adapter-conv']),
    );
    expect(list.find((p) => p.family === 'category-vgg')!.defaults['inputSize']).toBe(64);
  });
});
