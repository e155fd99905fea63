import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { TransplantError } from '@transplant/core';
import { formatFailure, toCodedError } from './failure';
import { runCli } from './program';

const exec = promisify(execFile);
const FAILING_CLI = fileURLToPath(new URL('./testing/failing-cli.ts', import.meta.url));
const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));

/** Runs a TypeScript entry in a fresh Node process; returns its exit code and output. */
async function child(entry: string, args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await exec(process.execPath, ['--import', 'tsx', entry, ...args], {
      env: { ...process.env, TRANSPLANT_DEBUG: '', ...env },
      maxBuffer: 64 * 2 ** 20,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/**
 * The command of the child tests: it selects the wasm back end (its glue starts), then opens the
 * registry (`export`: `predict` would first find that its --image does not exist).
 */
const COMMAND = ['--backend', 'wasm', 'export', '--net', 'cat-cls', '--out', 'x-export'];

/** No Node report of an uncaught error, no dump of the wasm glue, no stack frame. */
function expectOneCodedLine(stderr: string, code: string): void {
  expect(stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(stderr).toMatch(new RegExp(`^error ${code}: `));
  expect(stderr).not.toContain('tfjs-backend-wasm');
  expect(stderr).not.toMatch(/^\s+at /m);
  expect(stderr).not.toContain('Node.js v');
  expect(stderr.length).toBeLessThan(600);
}

describe('formatFailure: every failure is one coded line', () => {
  it('makes a thrown non-Error value a short E_INTERNAL that asks for a report', () => {
    for (const [thrown, shown] of [
      [undefined, 'undefined'],
      [null, 'null'],
      [42, '42'],
      ['text', "'text'"],
      [{ reason: 'x' }, "{ reason: 'x' }"],
    ] as const) {
      const error = toCodedError(thrown);
      expect(error.code).toBe('E_INTERNAL');
      expect(error.detail).toBe(`a non-Error value was thrown: ${shown}`);
      expect(error.cause).toBe(thrown);
      const { text, exitCode } = formatFailure(thrown, { json: false, debug: false });
      expect(exitCode).toBe(1);
      expect(text).toBe(`error ${error.message}\n`);
      expect(text).toContain('this is a bug');
      expect(text).toContain('TRANSPLANT_DEBUG=1');
    }
  });

  it('names a plain Error by its class and first line, cut short; keeps coded errors and their exit codes', () => {
    const long = new RangeError(`${'x'.repeat(500)}\nsecond line`);
    const error = toCodedError(long);
    expect(error.code).toBe('E_INTERNAL');
    expect(error.detail).toMatch(/^RangeError: x+…$/);
    expect(error.detail.length).toBeLessThanOrEqual(220);
    const coded = new TransplantError('E_INVALID_ARGUMENT', 'bad');
    expect(toCodedError(coded)).toBe(coded);
    expect(formatFailure(coded, { json: false, debug: false }).exitCode).toBe(2);
    expect(
      formatFailure(new TransplantError('E_DIGEST_MISMATCH', 'x'), { json: false, debug: false }).exitCode,
    ).toBe(1);
  });

  it('with --json is one object {"error":{code,message}}; the stack only with debug', () => {
    const plain = formatFailure(new Error('boom'), { json: true, debug: false });
    expect(plain.text.trimEnd().split('\n')).toHaveLength(1);
    expect(JSON.parse(plain.text)).toEqual({ error: { code: 'E_INTERNAL', message: expect.any(String) } });
    const debug = JSON.parse(formatFailure(new Error('boom'), { json: true, debug: true }).text);
    expect(debug.error.stack).toMatch(/^Error: boom\n\s+at /);
    const text = formatFailure(new TransplantError('E_INTERNAL', 'x', { cause: new Error('inner') }), {
      json: false,
      debug: true,
    }).text;
    expect(text).toMatch(/\ncaused by: Error: inner\n\s+at /);
  });

  it('codes commander’s own usage errors as E_USAGE (exit 2)', async () => {
    let stderr = '';
    const io = { stdout: () => undefined, stderr: (t: string) => (stderr += t), env: {} };
    expect(await runCli(['doctor', '--no-such-flag'], io)).toBe(2);
    expect(stderr).toMatch(/^error E_USAGE: the command was called wrongly \(transplant\): unknown option/);
    expect(stderr.trimEnd().split('\n')).toHaveLength(1);
    stderr = '';
    expect(await runCli(['--json', 'registry', 'publish'], io)).toBe(2);
    expect(JSON.parse(stderr).error.code).toBe('E_USAGE');
  });
});

describe('the CLI process: no uncaught failure, ever', () => {
  it('a thrown undefined after the wasm back end loads: one coded E_INTERNAL line, exit 1', async () => {
    const r = await child(FAILING_CLI, ['undefined', ...COMMAND]);
    expect(r.code).toBe(1);
    expectOneCodedLine(r.stderr, 'E_INTERNAL');
    expect(r.stderr).toContain('a non-Error value was thrown: undefined');
    expect(r.stdout).toBe('');
  });

  it('failures outside the awaited work (a timer’s throw, a stray rejection) end the same way', async () => {
    const timer = await child(FAILING_CLI, ['timer', ...COMMAND]);
    expect(timer.code).toBe(1);
    expectOneCodedLine(timer.stderr, 'E_INTERNAL');
    expect(timer.stderr).toContain('a non-Error value was thrown: 42');
    const rejection = await child(FAILING_CLI, ['rejection', '--json', ...COMMAND]);
    expect(rejection.code).toBe(1);
    expect(rejection.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(JSON.parse(rejection.stderr).error.code).toBe('E_INTERNAL');
    expect(JSON.parse(rejection.stderr).error.message).toContain("a non-Error value was thrown: 'stray'");
  });

  it('TRANSPLANT_DEBUG=1 shows the stack after the coded line', async () => {
    const quiet = await child(FAILING_CLI, ['error', ...COMMAND]);
    expectOneCodedLine(quiet.stderr, 'E_INTERNAL');
    expect(quiet.stderr).toContain('TypeError: registry.open is not a function');
    const r = await child(FAILING_CLI, ['error', ...COMMAND], { TRANSPLANT_DEBUG: '1' });
    expect(r.code).toBe(1);
    const [line, ...stack] = r.stderr.trimEnd().split('\n');
    expect(line).toMatch(/^error E_INTERNAL: /);
    expect(stack[0]).toBe('TypeError: registry.open is not a function');
    expect(stack[1]).toMatch(/^\s+at .*failing-cli\.ts/);
    expect(r.stderr).not.toContain('tfjs-backend-wasm.js');
  });

  it('`explain` of a segmentation network is refused in one coded line (issue 24)', async () => {
    const r = await child(MAIN, ['--backend', 'wasm', 'explain', '--net', 'cat-seg']);
    expect(r.code).toBe(2);
    expectOneCodedLine(r.stderr, 'E_INVALID_ARGUMENT');
    expect(r.stderr).toContain('the explainer explains a classifier');
  });
});
