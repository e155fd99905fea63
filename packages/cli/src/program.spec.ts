import { describe, expect, it } from 'vitest';
import { runCli } from './program';

async function run(argv: string[], env: Record<string, string | undefined> = {}) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env });
  return { code, stdout, stderr };
}

describe('transplant CLI', () => {
  it('prints its version for --version or -V alone (with --json as JSON), and nowhere else', async () => {
    for (const flag of ['--version', '-V'])
      expect(await run([flag])).toEqual({
        code: 0,
        stdout: expect.stringMatching(/^\d+\.\d+\.\d+\n$/),
        stderr: '',
      });
    expect(JSON.parse((await run(['--json', '--version'])).stdout)).toEqual({
      version: expect.stringMatching(/^\d+\.\d+\.\d+$/),
    });
    // A command's own --version is that command's (compose and import publish a version).
    for (const argv of [
      ['doctor', '--version'],
      ['--version', 'extra'],
    ]) {
      const r = await run(argv);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^error E_USAGE: .*unknown (option|command)[^\n]*\n$/);
    }
    const help = await run(['--help']);
    expect(help.stdout).toMatch(/^ {2}-V, --version +print the version and exit$/m);
  });

  it('doctor prints the forced back end and the registry in use', async () => {
    const r = await run(['--backend', 'cpu', '--registry', '/tmp/transplant-test-registry', 'doctor']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('back end: cpu via @tensorflow/tfjs-backend-cpu (forced)');
    expect(r.stdout).toContain(
      'registry: /tmp/transplant-test-registry (flag, does not exist: `transplant registry init` creates it)',
    );
  });

  it('doctor --json reports wasm with its registered kernels', async () => {
    const r = await run(['doctor', '--json'], { TRANSPLANT_BACKEND: 'wasm' });
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.backend.id).toBe('wasm');
    expect(report.backend.kernelPatches.map((k: { kernelName: string }) => k.kernelName)).toContain(
      'Conv2DBackpropFilter',
    );
    expect(report.registry.source).toBe('embedded');
    expect(report.tfjs['tfjs-backend-wasm']).toBe('4.22.0');
    expect(typeof report.native.on).toBe('boolean');
    expect(report.native.on ? report.native.onednn : report.native.reason).toMatch(/\S/);
  });

  it('fails with a coded error and exit 1 for an unknown back end', async () => {
    const r = await run(['--backend', 'webgpu', 'doctor']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error E_BACKEND_UNKNOWN: /);
    const json = await run(['--json', '--backend', 'webgpu', 'doctor']);
    expect(JSON.parse(json.stderr).error.code).toBe('E_BACKEND_UNKNOWN');
  });

  it('exits 2 on usage errors', async () => {
    expect((await run(['no-such-command'])).code).toBe(2);
    expect((await run(['doctor', '--no-such-flag'])).code).toBe(2);
    // Nested commands must not exit the process either (runCli is called in-process by executors).
    expect((await run(['registry', 'no-such-command'])).code).toBe(2);
    expect((await run(['registry', 'publish'])).code).toBe(2);
    expect((await run(['data', 'preview'])).code).toBe(2);
  });

  it('exits 2 when a library refuses a value an option passed through, with the library’s code', async () => {
    const bad = await run(['--registry', 'oci://user:pw@127.0.0.1:1/x', 'registry', 'list']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('E_REGISTRY_LOCATION_INVALID');
  });
});

describe('transplant data', () => {
  it('preview writes a contact sheet PNG of the requested size', async () => {
    const { mkdtemp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const sharp = (await import('sharp')).default;
    const dir = await mkdtemp(join(tmpdir(), 'transplant-preview-'));
    const out = join(dir, 'sheet.png');
    const r = await run(['data', 'preview', '--category', 'horse', '--n', '4', '--size', '32', '--out', out]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`wrote 4 images to ${out}`);
    const meta = await sharp(out).metadata();
    expect([meta.width, meta.height]).toEqual([2 * 32 * 6, 2 * (32 * 6 + 12) + 18]);
    await rm(dir, { recursive: true });
  });

  it('preview refuses unknown categories and counts with a usage error', async () => {
    expect((await run(['data', 'preview', '--category', 'unicorn'])).code).toBe(2);
    expect((await run(['data', 'preview', '--category', 'cat', '--n', '0'])).stderr).toContain(
      'E_INVALID_ARGUMENT',
    );
  });

  it('inspect counts a CUB folder and reports its parts', async () => {
    const { mkdtemp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { SyntheticSet, writeCub } = await import('@transplant/data');
    const dir = await mkdtemp(join(tmpdir(), 'transplant-inspect-'));
    const set = new SyntheticSet({
      seed: 2,
      size: 48,
      categories: ['cow', 'sheep'],
      perCategory: { train: 2, dev: 0, test: 1 },
    });
    await writeCub(set, join(dir, 'cub'));
    const r = await run([
      '--json',
      'data',
      'inspect',
      '--cub',
      join(dir, 'cub'),
      '--out',
      join(dir, 'sheet.png'),
      '--n',
      '4',
    ]);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({ images: 6, classes: 2, train: 4, test: 2 });
    expect(Object.keys(report.visibleParts)).toContain('horns');
    expect(report.visibleParts.torso).toBe(6);
    const missing = await run(['data', 'inspect', '--cub', join(dir, 'nothing-here')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('E_DATA_MISSING_FILE');
    await rm(dir, { recursive: true });
  });
});
