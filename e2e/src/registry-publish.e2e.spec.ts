import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { FolderStore, Registry, moduleFixture, writeModuleFolder } from '@transplant/registry';

const root = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);

describe('nx run registry:publish', () => {
  it('publishes a module folder through the nx executor, and refuses a republish', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'transplant-e2e-publish-'));
    await writeModuleFolder(join(dir, 'module'), moduleFixture({ name: 'horse-vgg', version: '3.1.4' }));
    const registry = join(dir, 'registry');
    const nx = (args: string[]) =>
      run(process.execPath, [join(root, 'node_modules', '.bin', 'nx'), 'run', 'registry:publish', ...args], {
        cwd: root,
        env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false' },
      });
    const { stdout } = await nx([`--module=${join(dir, 'module')}`, `--registry=${registry}`, '--create']);
    expect(stdout).toContain('published horse-vgg@3.1.4');
    expect((await new Registry(new FolderStore(registry)).resolve('horse-vgg')).version).toBe('3.1.4');
    const again = await nx([`--module=${join(dir, 'module')}`, `--registry=${registry}`]).then(
      () => 'succeeded',
      (error: { stdout: string; stderr: string }) => error.stdout + error.stderr,
    );
    expect(again).toContain('E_VERSION_EXISTS');
    await rm(dir, { recursive: true });
  }, 60_000);
});
