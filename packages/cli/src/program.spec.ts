import { describe, expect, it } from 'vitest';
import { runCli } from './program';

async function run(argv: string[], env: Record<string, string | undefined> = {}) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env });
  return { code, stdout, stderr };
}

describe('transplant CLI', () => {
  it('doctor prints the forced back end and the registry in use', async () => {
    const r = await run(['--backend', 'cpu', '--registry', '/tmp/transplant-test-registry', 'doctor']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('back end: cpu via @tensorflow/tfjs-backend-cpu (forced)');
    expect(r.stdout).toContain('registry: /tmp/transplant-test-registry (flag, does not exist yet)');
  });

  it('doctor --json reports wasm with its registered kernels', async () => {
    const r = await run(['doctor', '--json'], { TRANSPLANT_BACKEND: 'wasm' });
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.backend.id).toBe('wasm');
    expect(report.backend.kernelPatches.map((k: { kernelName: string }) => k.kernelName)).toContain('Conv2DBackpropFilter');
    expect(report.registry.source).toBe('embedded');
    expect(report.tfjs['tfjs-backend-wasm']).toBe('4.22.0');
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
  });
});
