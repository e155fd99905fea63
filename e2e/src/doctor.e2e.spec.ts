import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../../packages/cli/bin/transplant.js', import.meta.url));
const run = promisify(execFile);

describe('the installed transplant command', () => {
  it('runs doctor as a user would, on wasm with the training kernels', async () => {
    const env = { ...process.env, TRANSPLANT_BACKEND: '', TRANSPLANT_REGISTRY: '' };
    const { stdout } = await run(process.execPath, [bin, 'doctor'], { env });
    expect(stdout).toMatch(/back end: (wasm\+onednn|wasm|tensorflow) via /);
    if (stdout.includes('back end: wasm')) expect(stdout).toContain('wasm/Conv2DBackpropFilter');
    if (process.env['TRANSPLANT_EXPECT_ONEDNN'] === '1') expect(stdout).toContain('back end: wasm+onednn');
  });

  it('exits non-zero with the error code when the back end cannot be had', async () => {
    const env = { ...process.env, TRANSPLANT_BACKEND: 'nonsense' };
    await expect(run(process.execPath, [bin, 'doctor'], { env })).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining('E_BACKEND_UNKNOWN'),
    });
  });
});
