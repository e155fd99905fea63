import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHub } from '@transplant/hub';
import { HUB_FIXTURE, snapshotFolder, writeHubRegistry } from '@transplant/hub/testing';
import { FolderStore, Registry, copyModule, openStore } from '@transplant/registry';
import { DISTRIBUTION_BINARY, startLocalRegistry } from '@transplant/registry/testing';
import { runCli } from '../program';
import { parseHost, parsePort } from './hub';

const BIN = fileURLToPath(new URL('../../bin/transplant.js', import.meta.url));

describe('transplant hub', () => {
  let dir: string;
  let registry: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cli-hub-'));
    registry = join(dir, 'registry');
    await writeHubRegistry(registry);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  /** Starts the built CLI's `hub` and resolves with the child and the URL it printed. */
  async function serve(args: readonly string[], env: NodeJS.ProcessEnv = process.env) {
    const child = spawn(process.execPath, [BIN, ...args, '--backend', 'cpu', 'hub', '--port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env,
    });
    let stdout = '';
    const output = { stderr: '' };
    child.stderr.on('data', (c: Buffer) => (output.stderr += c.toString()));
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (c: Buffer) => {
        stdout += c.toString();
        const found = /hub at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(stdout);
        if (found) resolve(found[1]!);
      });
      child.on('exit', (code) => reject(new Error(`exited ${code} before serving: ${output.stderr}`)));
    });
    const stop = async (signal: NodeJS.Signals) => {
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      child.kill(signal);
      return exited;
    };
    return { url, stop, output };
  }

  it('prints its URL, serves the registry on loopback, and closes cleanly on SIGINT, SIGTERM and SIGHUP', async () => {
    if (!existsSync(join(BIN, '..', '..', 'dist', 'main.js')))
      throw new Error('the CLI is not built: run `npm run build` first');
    const before = await snapshotFolder(registry);
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      const { url, stop, output } = await serve(['--registry', registry]);
      const list = await (await fetch(url)).text();
      expect(list).toContain(`href="/modules/${HUB_FIXTURE.generic}"`);
      expect((await fetch(`${url}modules/cat-cls`)).status).toBe(200);
      expect(await stop(signal)).toBe(0);
      expect(output.stderr).toContain('hub stopped');
      await expect(fetch(url)).rejects.toThrow();
    }
    expect(await snapshotFolder(registry)).toEqual(before);
  });

  it('serves an OCI registry that needs credentials, and no page shows them', async () => {
    if (!existsSync(DISTRIBUTION_BINARY))
      throw new Error(`no ${DISTRIBUTION_BINARY}: run tools/scripts/install-system-deps.sh`);
    const USER = 'hub-user';
    const PASSWORD = 'hub-pa55word-never-shown';
    const server = await startLocalRegistry({ [USER]: PASSWORD });
    try {
      const env = {
        ...process.env,
        TRANSPLANT_REGISTRY_USERNAME: USER,
        TRANSPLANT_REGISTRY_PASSWORD: PASSWORD,
        TRANSPLANT_CACHE: join(dir, 'oci-cache'),
      };
      const oci = new Registry(await openStore(server.location, env));
      const folder = new Registry(new FolderStore(registry));
      for (const { name } of await folder.list()) await copyModule(folder, oci, `${name}@latest`);
      const { url, stop } = await serve(['--registry', server.location], env);
      try {
        for (const path of ['', 'lineage', 'modules/cat-seg', `generic/${HUB_FIXTURE.generic}`, 'nope']) {
          const page = await (await fetch(`${url}${path}`)).text();
          expect(page).not.toContain(PASSWORD);
          expect(page).toContain(server.location);
        }
        expect(await (await fetch(url)).text()).toContain(`href="/modules/${HUB_FIXTURE.via}"`);
      } finally {
        expect(await stop('SIGTERM')).toBe(0);
      }
    } finally {
      await server.stop();
    }
  }, 120_000);

  it('refuses a bad port or host before it binds or opens anything', async () => {
    const lines: string[] = [];
    const io = { stdout: (t: string) => lines.push(t), stderr: (t: string) => lines.push(t), env: {} };
    expect(await runCli(['--registry', registry, 'hub', '--port', '65536'], io)).toBe(2);
    expect(lines.join('')).toMatch(/E_USAGE.*--port must be an integer from 0 to 65535/);
    expect(await runCli(['--registry', registry, 'hub', '--host', 'http://x/'], io)).toBe(2);
    expect(lines.join('')).toMatch(/--host must be an address to bind/);
  });

  it('reports a port in use as E_PORT_UNAVAILABLE with what to do, exits 1, and leaves no temporary folder', async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'cli-hub-tmp-'));
    const saved = process.env['TMPDIR'];
    process.env['TMPDIR'] = tmp;
    const first = await startHub({
      registry: new Registry(new FolderStore(registry)),
      location: registry,
      port: 0,
    });
    try {
      const lines: string[] = [];
      const io = { stdout: (t: string) => lines.push(t), stderr: (t: string) => lines.push(t), env: {} };
      const port = new URL(first.url).port;
      expect(await runCli(['--registry', registry, '--backend', 'cpu', 'hub', '--port', port], io)).toBe(1);
      const text = lines.join('');
      expect(text).toMatch(/E_PORT_UNAVAILABLE.*is already in use.*--port 0/s);
      expect(text).not.toMatch(/E_PORT_UNAVAILABLE: E_PORT_UNAVAILABLE|E_INTERNAL/);
      expect(await readdir(tmp)).toHaveLength(1); // the first hub's only
    } finally {
      await first.close();
      if (saved === undefined) delete process.env['TMPDIR'];
      else process.env['TMPDIR'] = saved;
      await rm(tmp, { recursive: true, force: true });
    }
  });

  it('reads ports and hosts', () => {
    expect(parsePort('0')).toBe(0);
    expect(parsePort('65535')).toBe(65535);
    for (const bad of ['', '-1', '1e3', '65536', '08080x', ' 80'])
      expect(() => parsePort(bad)).toThrow(/--port/);
    for (const good of ['127.0.0.1', '::1', '0.0.0.0', 'localhost', 'hub.example.org'])
      expect(parseHost(good)).toBe(good);
    for (const bad of ['', '999.1.1.1', 'a b', 'http://x', '../x', 'x'.repeat(300)])
      expect(() => parseHost(bad)).toThrow(/--host/);
  });
});
