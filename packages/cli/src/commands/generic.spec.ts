import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Composer, Network, createModule, publishModule, publishNetwork } from '@transplant/composer';
import { selectBackend } from '@transplant/core';
import { addCategory, linkDigests, loadGeneric, type GenericContext } from '@transplant/distill';
import { FolderStore, Registry } from '@transplant/registry';
import { testPlugins } from '@transplant/platform/testing';
import { runCli } from '../program';

let dir: string;
let reg: string;
let registry: Registry;

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

const json = async (...argv: string[]) => {
  const r = await run('--json', ...argv);
  if (r.code !== 0) throw new Error(`${argv.join(' ')} failed: ${r.stderr.split('\n').slice(-6).join('\n')}`);
  return JSON.parse(r.stdout);
};

/** Tiny specific networks (16×16 images, an 8×8×8 map at stride 2) for bird, cat, cow, dog × cls, seg. */
beforeAll(async () => {
  await selectBackend({ requested: 'cpu', env: {} });
  dir = await mkdtemp(join(tmpdir(), 'transplant-cli-generic-'));
  reg = join(dir, 'registry');
  registry = new Registry(new FolderStore(reg));
  const plugins = testPlugins();
  const map = { inputSize: 8, inputChannels: 8, inputStride: 2 };
  let seed = 1;
  for (const category of ['bird', 'cat', 'cow', 'dog']) {
    for (const [task, family, options] of [
      ['cls', 'task-cls', { ...map, convs: [], hidden: 4 }],
      ['seg', 'task-seg', { ...map, widths: [8, 4] }],
    ] as const) {
      const f = createModule(plugins, {
        name: `${category}-${task}-features`,
        family: 'category-vgg',
        options: { inputSize: 16, blocks: [[4], [8]] },
        seed: seed++,
        category,
      });
      const g = createModule(plugins, { name: `${category}-${task}-head`, family, options, seed: seed++ });
      const network = Network.create([f, g], [{ category: f.name, task: g.name }]);
      const meta = {
        version: '1.0.0',
        generatedBy: 'transplant/0.1.0',
        provenance: { data: 'test', seed: 1, steps: 0, backend: 'cpu' },
        card: { metrics: [{ name: task === 'cls' ? 'error-rate' : 'iou', value: 0.25, on: 'test' }] },
      };
      await publishModule(registry, f, meta);
      await publishModule(registry, g, meta);
      await publishNetwork(registry, network, { ...meta, name: `${category}-${task}` });
      network.dispose();
    }
  }
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe('generic networks', () => {
  it('grows by three categories one after another, each version re-running every earlier link bit-identically; older versions still resolve', async () => {
    const created = await json('generic', 'create', '--name', 'animals', '--from', 'bird-cls,bird-seg');
    expect(created.version).toBe('1.0.0');
    const versions = ['1.0.0'];
    for (const [i, from] of ['cat-seg', 'cow-seg', 'dog-seg'].entries()) {
      const change = await json('add-category', '--generic', 'animals', '--from', from, '--steps', '2');
      versions.push(change.version);
      expect(change.version).toBe(`1.${i + 1}.0`);
      // A seg network teaches both heads: its own task directly (seg), and cls through the seg → cls bridge.
      expect(change.links.map((l: { status: string }) => l.status)).toEqual(['learned', 'learned']);
      expect(change.links.find((l: { link: string }) => l.link.endsWith('bird-cls-head')).teacher).toContain(
        'bridge seg → cls',
      );
      expect(change.guarded).toHaveLength(2 + 2 * i);
    }
    // Every link of every version gives, today, exactly the outputs recorded when that version was published.
    const composer = new Composer(registry, testPlugins());
    for (const version of versions) {
      const g = await loadGeneric(composer, `animals@${version}`);
      expect(linkDigests(g.network)).toEqual(g.record.guard.outputs);
      g.network.dispose();
    }
    const latest = await loadGeneric(composer, 'animals');
    expect(latest.network.links).toHaveLength(8);
    const digests = linkDigests(latest.network);
    const first = await loadGeneric(composer, 'animals@1.0.0');
    for (const [id, digest] of Object.entries(linkDigests(first.network))) expect(digests[id]).toBe(digest);
    latest.network.dispose();
    first.network.dispose();

    const shown = await run('generic', 'show', 'animals', '--png', join(dir, 'matrix.png'));
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain('animals@1.3.0: 5 categories × 2 tasks, 8 links');
    expect(shown.stdout).toContain('| dog-seg-features | adapter');
    expect((await readFile(join(dir, 'matrix.png'))).subarray(1, 4).toString()).toBe('PNG');
  }, 240_000);

  it('refuses to publish when a frozen module changed (E_FORGETTING, naming the link), and leaves the registry as it was', async () => {
    await json('generic', 'create', '--name', 'guarded', '--from', 'bird-cls');
    const ctx: GenericContext = {
      composer: new Composer(registry, testPlugins()),
      generatedBy: 'transplant/0.1.0',
      backend: 'cpu',
    };
    const before = await registry.index('guarded');
    const start = tf.memory().numTensors;
    const perturb = (network: Network) => {
      const kernel = network.module('bird-cls-head').built.layers.flatMap((l) => l.weights)[0]!;
      const value = kernel.read();
      const moved = tf.tidy(() => tf.add(value, tf.mul(tf.onesLike(value), 1e-3)));
      kernel.write(moved);
      moved.dispose();
    };
    await expect(
      addCategory(ctx, {
        generic: 'guarded',
        from: 'cat-cls',
        training: { steps: 2, afterTraining: perturb },
      }),
    ).rejects.toMatchObject({
      code: 'E_FORGETTING',
      message: expect.stringContaining('bird-cls-features → bird-cls-head'),
    });
    expect(tf.memory().numTensors).toBe(start);
    expect(await registry.index('guarded')).toEqual(before);
    await expect(registry.index('guarded-cat-cls-features-to-bird-cls-head')).rejects.toMatchObject({
      code: 'E_MODULE_NOT_FOUND',
    });
    // Without the perturbation the same change goes through.
    const ok = await addCategory(ctx, { generic: 'guarded', from: 'cat-cls', training: { steps: 2 } });
    expect(ok.guarded).toEqual(['bird-cls-features → bird-cls-head']);
    expect(tf.memory().numTensors).toBe(start);
  }, 120_000);

  it('skips a link without a teacher and says why; refuses a change that learns nothing; learns it by ordinary learning when given samples; adds tasks and removes categories', async () => {
    // A cls source added to a cls + seg network: its cls link is taught by the source network, its
    // seg link has no teacher (no cls → seg bridge) and no samples, so it is skipped with the reason.
    await json('generic', 'create', '--name', 'both', '--from', 'bird-cls,bird-seg');
    const partly = await json('add-category', '--generic', 'both', '--from', 'cow-cls', '--steps', '2');
    expect(partly.links).toEqual([
      expect.objectContaining({ link: 'cow-cls-features → bird-cls-head', status: 'learned', method: 'bd' }),
      {
        link: 'cow-cls-features → bird-seg-head',
        status: 'skipped',
        reason: expect.stringMatching(/no bridge maps cls → seg.*pass --samples N/),
      },
    ]);
    // The skipped link is not in the published network: only the learned one joined it.
    const grown = await json('generic', 'show', 'both');
    expect(grown.cells).toHaveLength(3);
    await json('generic', 'create', '--name', 'mixed', '--from', 'bird-seg');
    const taught = await json('add-category', '--generic', 'mixed', '--from', 'cat-seg', '--steps', '2');
    expect(taught.links).toEqual([
      expect.objectContaining({ link: 'cat-seg-features → bird-seg-head', status: 'learned', method: 'bd' }),
    ]);
    // cow-cls cannot teach a seg head (no cls → seg bridge): refused without samples, learned with them.
    const refused = await run('add-category', '--generic', 'mixed', '--from', 'cow-cls', '--steps', '2');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('E_TEACHER_MISSING');
    expect(refused.stderr).toContain('no bridge maps cls → seg');
    const ol = await json(
      'add-category',
      '--generic',
      'mixed',
      '--from',
      'cow-cls',
      '--steps',
      '2',
      '--samples',
      '4',
    );
    expect(ol.links).toEqual([expect.objectContaining({ status: 'learned', method: 'ol' })]);
    // A cls task: bird-seg and cat-seg teach it through the bridge; cow-cls-features came from a cls network, its own head is another module.
    const task = await json('add-task', '--generic', 'mixed', '--from', 'dog-cls', '--steps', '2');
    expect(task.links.map((l: { link: string; method?: string }) => `${l.link}:${l.method}`)).toEqual([
      'bird-seg-features → dog-cls-head:bd',
      'cat-seg-features → dog-cls-head:bd',
      'cow-cls-features → dog-cls-head:bd',
    ]);
    const removed = await json('remove-category', '--generic', 'mixed', '--category', 'cat-seg-features');
    expect(removed.version).toBe('1.4.0');
    const shown = await json('generic', 'show', 'mixed');
    expect(shown.categories).toEqual(['bird-seg-features', 'cow-cls-features']);
    expect(shown.cells).toHaveLength(4);
    const old = await json('generic', 'show', 'mixed@1.3.0');
    expect(old.categories).toContain('cat-seg-features');
    const missing = await run('remove-category', '--generic', 'mixed', '--category', 'cat-seg-features');
    expect(missing.stderr).toContain('has no category module cat-seg-features');
  }, 240_000);
});
