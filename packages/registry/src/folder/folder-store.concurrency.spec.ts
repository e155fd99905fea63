import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Registry } from '../registry';
import { moduleFixture } from '../testing/module-fixture';
import { FolderStore } from './folder-store';

const publisher = fileURLToPath(new URL('../testing/publisher.ts', import.meta.url));
const run = promisify(execFile);
let root: string;

function publish(versions: string[]): Promise<string> {
  return run(process.execPath, ['--import', 'tsx', publisher, root, 'cat-vgg', ...versions], {
    timeout: 120_000,
  }).then((r) => r.stdout);
}

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'transplant-concurrency-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('folder store under concurrency and crashes', () => {
  it('8 processes publishing 25 versions each at once: all 200 present, index valid, verify clean', async () => {
    const outputs = await Promise.all(
      Array.from({ length: 8 }, (_, p) => publish(Array.from({ length: 25 }, (_, i) => `${p + 1}.${i}.0`))),
    );
    expect(outputs.join('').match(/^ok /gm)).toHaveLength(200);
    const registry = new Registry(new FolderStore(root));
    const index = await registry.index('cat-vgg');
    expect(Object.keys(index.versions)).toHaveLength(200);
    expect(index.distTags['latest']).toBe('8.24.0');
    expect(await registry.verify()).toMatchObject({ versions: 200, problems: [] });
  }, 180_000);

  it('two processes racing to publish the same version: exactly one succeeds', async () => {
    for (let round = 0; round < 3; round++) {
      const outputs = await Promise.all([publish([`1.0.${round}`]), publish([`1.0.${round}`])]);
      const lines = outputs
        .join('')
        .trim()
        .split('\n')
        .filter((l) => !l.startsWith('start '))
        .sort();
      expect(lines).toEqual([`err E_VERSION_EXISTS 1.0.${round}`, `ok 1.0.${round}`]);
    }
  }, 120_000);

  it('a publisher killed with SIGKILL at random points leaves no partial version; the next publish succeeds', async () => {
    const registry = new Registry(new FolderStore(root));
    for (let kill = 0; kill < 20; kill++) {
      const child = spawn(process.execPath, ['--import', 'tsx', publisher, root, `cat-vgg`, '--forever'], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      // Wait for the first publish of this process, then kill it at a random point of a later one.
      await new Promise<void>((resolve) =>
        child.stdout.on('data', (d: Buffer) => d.toString().includes('ok ') && resolve()),
      );
      await new Promise((r) => setTimeout(r, Math.random() * 40));
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      const report = await registry.verify();
      expect(report.problems).toEqual([]);
      // Every visible version is whole: it fetches and its bytes verify.
      const index = await registry.index('cat-vgg');
      for (const version of Object.keys(index.versions)) await registry.fetch(`cat-vgg@${version}`);
      const next = `9.${kill}.0`;
      expect((await registry.publish(moduleFixture({ name: 'cat-vgg', version: next }))).version).toBe(next);
    }
  }, 300_000);
});
