import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { snapshotFolder } from '@transplant/registry/testing';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const execFileP = promisify(execFile);
const run = (command: string, args: readonly string[], options: { cwd: string; env: NodeJS.ProcessEnv }) =>
  execFileP(command, args, { ...options, maxBuffer: 64 * 2 ** 20 });

/** The temporary project's folder name starts with this. */
const PREFIX = 'transplant-clean-install-';

/** The workspace's installable packages: every folder under packages/ and plugins/ with a package.json. */
async function installablePackages(): Promise<string[]> {
  const dirs: string[] = [];
  for (const group of ['packages', 'plugins'])
    for (const entry of await readdir(join(ROOT, group), { withFileTypes: true }))
      if (entry.isDirectory() && existsSync(join(ROOT, group, entry.name, 'package.json')))
        dirs.push(join(ROOT, group, entry.name));
  return dirs;
}

/** Makes a synthetic cat image with the installed @transplant/data; prints the share of cat pixels. */
const MAKE_IMAGE = `
import { writeFileSync } from 'node:fs';
import { SampleRenderer, encodePng } from '@transplant/data';
const sample = new SampleRenderer(64).render('cat', 'clean-install');
writeFileSync('cat.png', await encodePng({ width: sample.width, height: sample.height, rgb: sample.rgb }));
console.log(JSON.stringify({ foreground: sample.labels.filter((l) => l > 0).length / sample.labels.length }));
`;

/** A user's script: the zoo opened as a plain folder registry, a network loaded and one composed, both run. */
const SCRIPT = `
import { Composer, PluginRegistry, predictImage } from '@transplant/composer';
import { selectBackend } from '@transplant/core';
import { BUILTIN_PLUGINS, ZOO_REGISTRY } from '@transplant/platform';
import { Registry, openStore } from '@transplant/registry';

const backend = await selectBackend({ env: process.env });
const registry = new Registry(await openStore(ZOO_REGISTRY, process.env));
const composer = new Composer(registry, new PluginRegistry(BUILTIN_PLUGINS));
const { network: loaded } = await composer.load('cat-cls');
const cls = await predictImage({ network: loaded, link: loaded.links[0], image: 'cat.png' });
loaded.dispose();
const composed = await composer.compose([{ category: 'cat-seg-features', task: 'cat-seg-head' }]);
const seg = await predictImage({ network: composed, link: composed.links[0], image: 'cat.png', out: 'script-overlay.png' });
composed.dispose();
console.log(JSON.stringify({ backend: backend.id, names: (await registry.list()).map((m) => m.name), cls, seg }));
`;

/**
 * A clean install, as a user outside the workspace gets it: every installable package packed
 * with `npm pack` (what publishing would upload), installed from the tarballs into an empty
 * project in a temporary folder (third-party packages from the npm registry, through the npm
 * cache), then used from there — the CLI through `npx transplant`, the libraries from a plain
 * .mjs script — with a home and XDG data folder of its own. docs/install.md.
 */
describe('a clean install from packed tarballs', () => {
  let base: string;
  let project: string;
  let zoo: string;
  let env: NodeJS.ProcessEnv;
  let zooBefore: Record<string, string>;
  let truth: number;

  beforeAll(async () => {
    for (const dir of await installablePackages())
      if (!existsSync(join(dir, 'dist')))
        throw new Error(
          `${relative(ROOT, dir)}/dist is missing: run \`npm run build\` (npm test builds first)`,
        );
    // A run that was killed left its ~400 MB project behind: remove those over a day old.
    for (const name of await readdir(tmpdir()))
      if (name.startsWith(PREFIX)) {
        const old = join(tmpdir(), name);
        if (Date.now() - (await stat(old)).mtimeMs > 24 * 3600 * 1000)
          await rm(old, { recursive: true, force: true });
      }
    base = await mkdtemp(join(tmpdir(), PREFIX));
    project = join(base, 'project');
    await Promise.all([project, join(base, 'tarballs'), join(base, 'home')].map((d) => mkdir(d)));
    // npm as the user runs it: none of the workspace's npm_* or NODE_OPTIONS settings of `npm test`.
    const npmEnv = Object.fromEntries(
      Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key) && key !== 'NODE_OPTIONS'),
    );
    const packed = await run(
      'npm',
      ['pack', '--json', '--pack-destination', join(base, 'tarballs'), ...(await installablePackages())],
      { cwd: ROOT, env: npmEnv },
    );
    const tarballs = (JSON.parse(packed.stdout) as { filename: string }[]).map((p) =>
      join(base, 'tarballs', p.filename),
    );
    await writeFile(
      join(project, 'package.json'),
      JSON.stringify({ name: 'clean-install', version: '1.0.0', private: true, type: 'module' }),
    );
    // No install scripts: tfjs-node's would download libtensorflow (npm 10 runs it unasked), and
    // nothing Transplant needs has one (canvas, sharp and msgpackr ship prebuilt binaries).
    await run(
      'npm',
      ['install', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund', ...tarballs],
      {
        cwd: project,
        env: npmEnv,
      },
    );
    zoo = join(project, 'node_modules', '@transplant', 'zoo', 'dist', 'registry');
    zooBefore = await snapshotFolder(zoo);
    env = Object.fromEntries(
      Object.entries(process.env).filter(
        ([key]) =>
          !/^npm_/i.test(key) &&
          !key.startsWith('VITEST') &&
          !key.startsWith('XDG_') &&
          !['NODE_OPTIONS', 'TRANSPLANT_REGISTRY', 'TRANSPLANT_BACKEND', 'TRANSPLANT_CACHE'].includes(key),
      ),
    );
    env['HOME'] = join(base, 'home');
    env['XDG_DATA_HOME'] = join(base, 'data');
    env['TRANSPLANT_RUNS_DIR'] = join(base, 'runs');
    await writeFile(join(project, 'make-image.mjs'), MAKE_IMAGE);
    truth = JSON.parse((await run(process.execPath, ['make-image.mjs'], { cwd: project, env })).stdout)
      .foreground as number;
  }, 600_000);

  afterAll(async () => {
    if (base) await rm(base, { recursive: true, force: true });
  });

  const transplant = (...args: string[]) =>
    run('npx', ['--no', 'transplant', ...args], { cwd: project, env });
  const userRegistry = () => join(base, 'data', 'transplant', 'registry');

  it('installs compiled packages only: dist/ with declarations, no sources, no dev tools', async () => {
    const installed = join(project, 'node_modules', '@transplant');
    const names = await readdir(installed);
    expect(names).toEqual(expect.arrayContaining(['cli', 'core', 'platform', 'registry', 'composer', 'zoo']));
    expect(names).toHaveLength((await installablePackages()).length);
    for (const name of names) {
      const dir = join(installed, name);
      const files = await readdir(dir, { recursive: true });
      expect(
        files.filter((f) => f.startsWith('src')),
        name,
      ).toEqual([]);
      expect(files, name).toEqual(expect.arrayContaining(['dist/index.js', 'dist/index.d.ts']));
      expect(
        files.filter((f) => /\.ts$/.test(f) && !f.endsWith('.d.ts')),
        name,
      ).toEqual([]);
    }
    // The workspace's development tools stay in the workspace.
    for (const tool of ['tsx', 'vitest', 'typescript', 'nx', 'esbuild', 'eslint', 'node-gyp'])
      expect(existsSync(join(project, 'node_modules', tool)), tool).toBe(false);
    expect(zooBefore['/transplant-registry.json']).toBeDefined();
    // The committed registry: what this checkout published itself (README line 1) stays out.
    const { stdout: tracked } = await run('git', ['ls-files', '-z', '--', '.'], {
      cwd: join(ROOT, 'registry'),
      env: process.env,
    });
    const committed = new Set(tracked.split('\0').filter(Boolean));
    expect(zooBefore).toEqual(
      Object.fromEntries(
        Object.entries(await snapshotFolder(join(ROOT, 'registry'))).filter(([file]) =>
          committed.has(file.slice(1)),
        ),
      ),
    );
  });

  it('npx transplant doctor names the registries in use: the user registry over the zoo', async () => {
    const { stdout } = await transplant('doctor');
    expect(stdout).toMatch(/^transplant \d+\.\d+\.\d+/);
    expect(stdout).toMatch(/back end: (wasm\+onednn|wasm|tensorflow) via /);
    expect(stdout).toContain(`registry: ${userRegistry()} (default, writable: publishes go here`);
    expect(stdout).toContain(`reads through to the zoo: ${zoo} (read-only)`);
    const report = JSON.parse((await transplant('doctor', '--json')).stdout);
    expect(report.registry).toMatchObject({
      location: userRegistry(),
      source: 'default',
      readThrough: { location: zoo, exists: true },
    });
    // The optional oneDNN addon either loads or is off with a reason; CI, which installs oneDNN, expects it on.
    expect(report.native.on ? report.native.onednn : report.native.reason).toMatch(/\S/);
    if (process.env['TRANSPLANT_EXPECT_ONEDNN'] === '1') expect(report.backend.id).toBe('wasm+onednn');
  });

  it('npx transplant hub serves the zoo with its scripts from the installed node_modules, and stops on SIGINT', async () => {
    const child = spawn(join(project, 'node_modules', '.bin', 'transplant'), ['hub', '--port', '0'], {
      cwd: project,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (c: Buffer) => {
        stdout += c.toString();
        const found = /hub at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(stdout);
        if (found) resolve(found[1]!);
      });
      child.on('exit', (code) => reject(new Error(`transplant hub exited ${code} before serving`)));
    });
    try {
      expect(await (await fetch(url)).text()).toContain('href="/modules/cat-seg"');
      for (const asset of ['cytoscape.min.js', 'cytoscape-dagre.min.js', 'tf.min.js']) {
        const answer = await fetch(`${url}assets/${asset}`);
        expect(answer.status, asset).toBe(200);
        expect((await answer.arrayBuffer()).byteLength, asset).toBeGreaterThan(40_000);
      }
    } finally {
      const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
      child.kill('SIGINT');
      expect(await exited).toBe(0);
    }
    expect(existsSync(userRegistry())).toBe(false);
  });

  it('npx transplant predict runs a zoo network on an image', async () => {
    const { stdout } = await transplant('predict', '--net', 'cat-seg', '--image', 'cat.png');
    expect(stdout).toMatch(/^cat-seg-features → cat-seg-head: \d+\.\d% of pixels; overlay /);
    const seg = JSON.parse(
      (await transplant('predict', '--net', 'cat-seg', '--image', 'cat.png', '--json')).stdout,
    );
    // The zoo's cat segmenter finds about as much cat as the image has.
    expect(seg.foreground).toBeGreaterThan(truth / 2);
    expect(seg.foreground).toBeLessThan(truth * 2);
    expect(existsSync(seg.mask)).toBe(true);
    expect(existsSync(userRegistry())).toBe(false);
  });

  it('npx transplant transplant publishes into the user registry, reports under ./reports and leaves the zoo untouched', async () => {
    const { stdout } = await transplant(
      'transplant',
      '--from',
      'bird-cls',
      '--to',
      'cat-seg',
      '--steps',
      '20',
    );
    expect(stdout).toContain('cat-cls-via-bird@1.0.0 published');
    expect(stdout).toMatch(/dev error-rate \d\.\d+/);
    expect(stdout).toContain(`report: ${join(project, 'reports')}/`);
    const user = await snapshotFolder(userRegistry());
    expect(Object.keys(user).some((f) => f.startsWith('/modules/cat-cls-via-bird/'))).toBe(true);
    expect(await snapshotFolder(zoo)).toEqual(zooBefore);
    const list = (await transplant('registry', 'list')).stdout;
    expect(list).toMatch(/^cat-cls-via-bird\s+network\s+1\.0\.0/m);
    expect(list).toMatch(/^cat-seg\s+network\s+\d+\.\d+\.\d+/m);
    // It runs from the user registry: the link this install just made (the cat segmenter's
    // category module on the bird classifier's task module), its score the sigmoid of its logit.
    const prediction = JSON.parse(
      (await transplant('predict', '--net', 'cat-cls-via-bird', '--image', 'cat.png', '--json')).stdout,
    );
    expect(prediction).toMatchObject({
      task: 'cls',
      link: 'cat-seg-features → bird-cls-head',
    });
    expect(prediction.score).toBeCloseTo(1 / (1 + Math.exp(-prediction.logit)), 6);
    // A version the zoo holds is never published again, and the failure changes neither registry.
    const again = await transplant(
      'compose',
      '--name',
      'cat-seg',
      '--link',
      'cat-seg-features:cat-seg-head',
    ).then(
      () => 'published',
      (error: { code: number; stderr: string }) => `${error.code} ${error.stderr}`,
    );
    expect(again).toMatch(/^1 error E_VERSION_EXISTS/);
    expect(await snapshotFolder(userRegistry())).toEqual(user);
    expect(await snapshotFolder(zoo)).toEqual(zooBefore);
  }, 180_000);

  it('a plain .mjs script imports @transplant/registry and @transplant/composer and runs zoo networks', async () => {
    await writeFile(join(project, 'script.mjs'), SCRIPT);
    const { stdout } = await run(process.execPath, ['script.mjs'], { cwd: project, env });
    const result = JSON.parse(stdout);
    expect(result.names).toEqual(
      expect.arrayContaining(['cat-cls', 'cat-seg', 'cat-seg-features', 'bird-cls-head']),
    );
    expect(result.names).not.toContain('cat-cls-via-bird');
    expect(result.backend).toMatch(/^(wasm\+onednn|wasm|tensorflow)$/);
    expect(result.cls.task).toBe('cls');
    expect(result.cls.score).toBeGreaterThan(0.9);
    expect(result.seg.task).toBe('seg');
    expect(result.seg.foreground).toBeGreaterThan(truth / 2);
    expect(result.seg.foreground).toBeLessThan(truth * 2);
    expect(existsSync(join(project, 'script-overlay.png'))).toBe(true);
  });

  // Last: it removes the addon from the install.
  it('without the optional native oneDNN addon it falls back to wasm', async () => {
    await rm(join(project, 'node_modules', '@transplant', 'native', 'addon'), {
      recursive: true,
      force: true,
    });
    const { stdout } = await transplant('doctor');
    expect(stdout).toMatch(/back end: wasm via /);
    expect(stdout).toMatch(/native oneDNN kernels: off — \S/);
    const cls = JSON.parse(
      (await transplant('predict', '--net', 'cat-cls', '--image', 'cat.png', '--json')).stdout,
    );
    expect(cls.score).toBeGreaterThan(0.9);
  });
});
