import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  Network,
  createModule,
  disposeModule,
  publishModule,
  type ModuleInstance,
} from '@transplant/composer';
import { RunFolder, TransplantError, selectBackend } from '@transplant/core';
import { FolderStore, Registry } from '@transplant/registry';
import {
  nextFreeVersion,
  publishAtFreeVersion,
  publishModuleOnce,
  publishNetworkOnce,
} from './publish-resumed';
import { tinyModules } from './testing/tiny-modules';

let dir: string;
let registry: Registry;
let modules: ReturnType<typeof tinyModules>;
const meta = (version: string) => ({
  version,
  generatedBy: 'transplant/0.1.0',
  provenance: { data: 'test', seed: 1, steps: 0, backend: 'cpu' },
  card: { metrics: [] },
});

beforeAll(async () => {
  await selectBackend({ requested: 'cpu', env: {} });
});
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'transplant-publish-once-'));
  registry = new Registry(new FolderStore(join(dir, 'registry')));
  modules = tinyModules();
  await publishModule(registry, modules.category, meta('1.0.0'));
  await publishModule(registry, modules.task, meta('1.0.0'));
});
afterEach(() => {
  [modules.category, modules.task, modules.teacherTask, modules.adapter].forEach(disposeModule);
  rmSync(dir, { recursive: true, force: true });
});

const pin = (m: ModuleInstance, kind: 'category' | 'task') => ({
  name: m.name,
  kind,
  range: '1.0.0',
  pinned: { version: '1.0.0', digest: m.published!.digest },
});
const adapterMeta = (version: string) => ({
  ...meta(version),
  dependencies: [pin(modules.category, 'category'), pin(modules.task, 'task')],
});

/** Another adapter of the same name with other weights (another seed). */
function otherAdapter(): ModuleInstance {
  return createModule(modules.plugins, {
    name: 'cat-bird-adapter',
    family: 'tiny-adapter',
    seed: 99,
    options: { layers: 1 },
  });
}

describe('publishing what a killed run may have published already', () => {
  it('a resumed publish adopts the version when its weights are these, and only then', async () => {
    await publishModuleOnce(registry, modules.adapter, adapterMeta('1.0.0'), false);
    const published = modules.adapter.published!;
    // Resumed, the same weights: the existing version is this publish.
    modules.adapter.published = undefined;
    await publishModuleOnce(registry, modules.adapter, adapterMeta('1.0.0'), true);
    expect(modules.adapter.published).toMatchObject({ version: '1.0.0', digest: published.digest });
    // Not resumed, the same weights: a version is never taken twice.
    await expect(publishModuleOnce(registry, modules.adapter, adapterMeta('1.0.0'), false)).rejects.toThrow(
      expect.objectContaining({ code: 'E_VERSION_EXISTS' }),
    );
    // Resumed, other weights: not this run's module, refused.
    const other = otherAdapter();
    try {
      await expect(publishModuleOnce(registry, other, adapterMeta('1.0.0'), true)).rejects.toThrow(
        expect.objectContaining({ code: 'E_VERSION_EXISTS' }),
      );
      expect(other.published).toBeUndefined();
    } finally {
      disposeModule(other);
    }
  });

  it('a resumed network publish adopts the version only when it pins the same modules', async () => {
    await publishModuleOnce(registry, modules.adapter, adapterMeta('1.0.0'), false);
    const network = Network.create(
      [modules.category, modules.adapter, modules.task],
      [{ category: 'cat-features', task: 'bird-head', adapter: 'cat-bird-adapter' }],
    );
    await publishNetworkOnce(registry, network, { ...meta('1.0.0'), name: 'cat-via-bird' }, false);
    await publishNetworkOnce(registry, network, { ...meta('1.0.0'), name: 'cat-via-bird' }, true);
    // The same network over another adapter version pins other modules: refused even when resumed.
    const other = otherAdapter();
    try {
      await publishModuleOnce(registry, other, adapterMeta('1.1.0'), false);
      const moved = Network.create(
        [modules.category, other, modules.task],
        [{ category: 'cat-features', task: 'bird-head', adapter: 'cat-bird-adapter' }],
      );
      await expect(
        publishNetworkOnce(registry, moved, { ...meta('1.0.0'), name: 'cat-via-bird' }, true),
      ).rejects.toThrow(expect.objectContaining({ code: 'E_VERSION_EXISTS' }));
    } finally {
      disposeModule(other);
    }
  });

  it('takes the next version free for every name, and the next again when another writer gets there first', async () => {
    expect(await nextFreeVersion(registry, ['cat-bird-adapter', 'cat-via-bird'])).toBe('1.0.0');
    await publishModuleOnce(registry, modules.adapter, adapterMeta('1.0.0'), false);
    // The adapter has 1.0.0, the network none: 1.1.0 is free for both.
    expect(await nextFreeVersion(registry, ['cat-via-bird', 'cat-bird-adapter'])).toBe('1.1.0');

    const tried: [string, boolean][] = [];
    const run = RunFolder.open(join(dir, 'runs'), 'transplant-test', { every: 5, note: () => undefined });
    let raced = false;
    const version = await publishAtFreeVersion(registry, {
      names: ['cat-bird-adapter'],
      run,
      publish: async (v, resumed) => {
        tried.push([v, resumed]);
        // Another writer takes the version between this run's read and its write, once.
        if (!raced) {
          raced = true;
          await publishModuleOnce(registry, modules.adapter, adapterMeta(v), false);
          throw new TransplantError('E_VERSION_EXISTS', `cat-bird-adapter@${v} is already published`);
        }
      },
    });
    expect(tried).toEqual([
      ['1.1.0', false],
      ['1.2.0', false],
    ]);
    expect(version).toBe('1.2.0');
    expect(run.read('publish')).toEqual({ version: '1.2.0' });
    // A rerun of the killed run resumes at the version it recorded.
    const again: [string, boolean][] = [];
    await publishAtFreeVersion(registry, {
      names: ['cat-bird-adapter'],
      run,
      publish: async (v, resumed) => void again.push([v, resumed]),
    });
    expect(again).toEqual([['1.2.0', true]]);
    // Other errors are not retried; nor is E_VERSION_EXISTS without end.
    await expect(
      publishAtFreeVersion(registry, {
        names: ['cat-bird-adapter'],
        run: undefined,
        attempts: 3,
        publish: async (v) => {
          throw new TransplantError('E_VERSION_EXISTS', `${v} taken`);
        },
      }),
    ).rejects.toThrow(/taken/);
    run.remove();
  });
});
