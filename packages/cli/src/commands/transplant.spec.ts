import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Network, createModule, publishModule, publishNetwork } from '@transplant/composer';
import { TransplantError, decodeReport, selectBackend } from '@transplant/core';
import { encodePng } from '@transplant/data';
import { FolderStore, Registry } from '@transplant/registry';
import { testPlugins } from '@transplant/platform/testing';
import { runCli } from '../program';

/** The escape character that starts a terminal's control sequences. */
const ESC = '\u001b';

let dir: string;
let reg: string;
let registry: Registry;

async function run(...argv: string[]) {
  return runOn({}, ...argv);
}

/** The CLI with stderr a terminal (`isTTY`) or not, in an environment of `env`. */
async function runOn(terminal: { isTTY?: boolean; env?: Record<string, string> }, ...argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(['--backend', 'cpu', '--registry', reg, ...argv], {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    env: terminal.env ?? {},
    ...(terminal.isTTY ? { isTTY: true, columns: 100 } : {}),
  });
  return { code, stdout, stderr };
}

/** Tiny specific networks (16×16 images, an 8×8×8 map at stride 2): cat-cls, cat-seg, bird-cls, bird-seg. */
beforeAll(async () => {
  await selectBackend({ requested: 'cpu', env: {} });
  dir = await mkdtemp(join(tmpdir(), 'transplant-cli-transplant-'));
  reg = join(dir, 'registry');
  registry = new Registry(new FolderStore(reg));
  const plugins = testPlugins();
  const map = { inputSize: 8, inputChannels: 8, inputStride: 2 };
  let seed = 1;
  for (const category of ['cat', 'bird']) {
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
        card: { metrics: [] },
      };
      await publishModule(registry, f, meta);
      await publishModule(registry, g, meta);
      await publishNetwork(registry, network, { ...meta, name: `${category}-${task}` });
      network.dispose();
    }
  }
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe('transplant transplant', () => {
  it('evaluates on dev by default and on the final test only with --final, saying which', async () => {
    const args = ['transplant', '--from', 'bird-cls', '--to', 'cat-cls', '--steps', '1', '--no-publish'];
    const reports = ['--reports', join(dir, 'reports-final')];
    const dev = await run(...args, ...reports);
    expect(dev.code).toBe(0);
    expect(dev.stdout).toMatch(/^dev error-rate 0\.\d{4} \(the --to network's own head: 0\.\d{4}\)$/m);
    const final = await run('--json', ...args, '--final', ...reports);
    expect(final.code).toBe(0);
    expect(JSON.parse(final.stdout).evaluation).toEqual({ split: 'test', images: 400 });
  });

  it('shows progress as a bar redrawn in place on a terminal, as plain lines elsewhere; colour only on a terminal without NO_COLOR', async () => {
    const args = ['transplant', '--from', 'bird-cls', '--to', 'cat-cls', '--steps', '3', '--no-publish'];
    const reports = ['--reports', join(dir, 'reports-progress')];
    const piped = await runOn({}, ...args, ...reports);
    expect(piped.code).toBe(0);
    // The last step as one line (and every 25th: progress.spec.ts), no control characters.
    expect(piped.stderr).toMatch(/^step 3\/3 {2}loss \d+\.\d{4} {2}in \d+ s$/m);
    expect(piped.stderr).not.toContain('\r');
    expect(piped.stderr).not.toContain(ESC);
    const terminal = await runOn({ isTTY: true, env: { TERM: 'xterm' } }, ...args, ...reports);
    expect(terminal.code).toBe(0);
    expect(terminal.stderr).toMatch(
      new RegExp(String.raw`\rstep \[.*\] 3/3 {2}loss \d+\.\d{4} {2}in \d+ s${ESC}\[K\n`),
    );
    expect(terminal.stderr).toContain(`${ESC}[32m#`);
    expect(terminal.stdout).toBe(piped.stdout);
    // A failure's line: red on a terminal, plain with NO_COLOR or off a terminal.
    const refused = ['transplant', '--from', 'nobody', '--to', 'cat-cls'];
    expect((await runOn({ isTTY: true, env: { TERM: 'xterm' } }, ...refused)).stderr).toMatch(
      new RegExp(String.raw`^${ESC}\[31merror${ESC}\[39m E_`),
    );
    expect((await runOn({ isTTY: true, env: { TERM: 'xterm', NO_COLOR: '1' } }, ...refused)).stderr).toMatch(
      /^error E_/,
    );
    expect((await runOn({}, ...refused)).stderr).toMatch(/^error E_/);
  });

  it('learns an adapter with back-distillation from zero samples, publishes a new version each run, and reports', async () => {
    const first = await run(
      '--json',
      'transplant',
      '--from',
      'bird-cls',
      '--to',
      'cat-cls',
      '--steps',
      '3',
      '--reports',
      join(dir, 'reports'),
    );
    expect(first.code).toBe(0);
    const result = JSON.parse(first.stdout);
    expect(result).toMatchObject({
      network: 'cat-cls-via-bird',
      version: '1.0.0',
      method: 'bd',
      samples: 0,
      annotatedImages: 0,
      knownNegatives: 200,
      student: { category: 'cat-cls-features', task: 'bird-cls-head' },
    });
    expect(result.calibration).toBeUndefined();
    expect(result.teacher).toContain('cat-cls itself');
    expect(first.stderr).toContain('step 3/3');
    const report = await readFile(result.report, 'utf8');
    expect(report).toContain('# Transplant: cat-cls-via-bird@1.0.0');
    const picture = /!\[loss\]\((.+\.png)\)/.exec(report)![1]!;
    // The report travels with the network it published: its Markdown and loss curve, attached.
    const bundle = decodeReport(
      (await registry.attachment('cat-cls-via-bird@1.0.0', 'transplant-report')).bytes,
    );
    expect(bundle.markdown).toBe(report);
    expect(bundle.files.map((f) => f.name)).toEqual([picture]);
    expect(Buffer.from(bundle.files[0]!.bytes).equals(await readFile(join(dir, 'reports', picture)))).toBe(
      true,
    );
    const second = JSON.parse(
      (
        await run(
          '--json',
          'transplant',
          '--from',
          'bird-cls',
          '--to',
          'cat-cls',
          '--steps',
          '2',
          '--adapter',
          'conv3',
          '--reports',
          join(dir, 'reports'),
        )
      ).stdout,
    );
    expect(second.version).toBe('1.1.0');
    const { manifest } = await registry.manifest('cat-cls-via-bird-adapter@1.0.0');
    expect(manifest.card.summary).toContain(
      'teacher: cat-cls itself (its cls head on the same category module); 0 annotated images (0 unlabelled target images); 200 negatives known by construction',
    );
    const pinned = Object.fromEntries(manifest.dependencies.map((d) => [d.name, d.pinned!.digest]));
    expect(pinned['cat-cls-features']).toBe(
      (await registry.manifest('cat-cls-features@1.0.0')).manifest.weights.digest,
    );
    expect(pinned['bird-cls-head']).toBe(
      (await registry.manifest('bird-cls-head@1.0.0')).manifest.weights.digest,
    );
    await writeFile(
      join(dir, 'x.png'),
      await encodePng({
        width: 16,
        height: 16,
        rgb: Uint8Array.from({ length: 768 }, (_, i) => (i * 7) % 256),
      }),
    );
    const predicted = JSON.parse(
      (await run('--json', 'predict', '--net', 'cat-cls-via-bird@1.0.0', '--image', join(dir, 'x.png')))
        .stdout,
    );
    expect(predicted).toMatchObject({ task: 'cls', link: 'cat-cls-features → bird-cls-head' });
  });

  it('says the network is published when attaching its report fails, and the same command attaches it without publishing again', async () => {
    const args = ['--json', 'transplant', '--from', 'cat-cls', '--to', 'bird-cls', '--steps', '2'];
    const reports = ['--reports', join(dir, 'reports-attach')];
    const attach = vi
      .spyOn(Registry.prototype, 'attach')
      .mockRejectedValueOnce(new TransplantError('E_REGISTRY_UNREACHABLE', 'the store did not answer'));
    try {
      const failed = await run(...args, ...reports);
      expect(failed.code).not.toBe(0);
      expect(failed.stderr).toContain(
        'bird-cls-via-cat@1.0.0 is published, but attaching its report failed: the store did not answer; run the same command again to attach it',
      );
      await expect(registry.attachment('bird-cls-via-cat@1.0.0', 'transplant-report')).rejects.toMatchObject({
        code: 'E_MODULE_NOT_FOUND',
      });
      const again = await run(...args, ...reports);
      expect(again.code).toBe(0);
      expect(JSON.parse(again.stdout)).toMatchObject({ network: 'bird-cls-via-cat', version: '1.0.0' });
      expect(Object.keys((await registry.index('bird-cls-via-cat')).versions)).toEqual(['1.0.0']);
      const bundle = decodeReport(
        (await registry.attachment('bird-cls-via-cat@1.0.0', 'transplant-report')).bytes,
      );
      expect(bundle.title).toBe('Transplant: bird-cls-via-cat@1.0.0');
    } finally {
      attach.mockRestore();
    }
  });

  it('bridges a segmentation teacher to a classification student, calibrated without labels unless asked', async () => {
    const bridge = (...extra: string[]) =>
      run(
        'transplant',
        '--from',
        'bird-cls',
        '--to',
        'cat-seg',
        '--steps',
        '2',
        '--no-publish',
        '--reports',
        join(dir, 'reports'),
        ...extra,
      );
    const r = JSON.parse((await bridge('--json')).stdout);
    expect(r.teacher).toContain('bridge seg → cls');
    expect(r.version).toBeUndefined();
    expect(r).toMatchObject({
      samples: 0,
      annotatedImages: 0,
      knownNegatives: 200,
      calibration: { mode: 'label-free', images: 200, annotated: 0 },
    });
    expect(r.calibration.scale).toEqual(expect.any(Number));
    const report = await readFile(r.report, 'utf8');
    expect(report).toContain(
      'images: 0 annotated images (0 unlabelled target images, a label-free calibration on 200 unlabelled images); 200 negatives known by construction',
    );
    expect(report).toContain('--calibration label-free');

    // The former calibration, on request: its 200 dev labels are counted, in the JSON, the report and the text.
    const labelled = JSON.parse((await bridge('--json', '--calibration', 'labelled')).stdout);
    expect(labelled).toMatchObject({
      annotatedImages: 200,
      knownNegatives: 200,
      calibration: { mode: 'labelled', images: 200, annotated: 200, present: 100 },
    });
    expect(await readFile(labelled.report, 'utf8')).toMatch(
      /\| cat-cls-via-bird .* \| bd \| 200 \| 200 \| error-rate \|/,
    );
    const text = await bridge('--calibration', 'labelled', '--samples', '3');
    expect(text.stdout).toContain(
      'images: 200 annotated images (3 unlabelled target images, 200 labelled calibration images); 200 negatives known by construction',
    );
    const wrong = await bridge('--calibration', 'guess');
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain(
      'E_USAGE: the command was called wrongly (transplant): --calibration must be label-free or labelled',
    );
  });

  it('refuses back-distillation without a teacher, and ordinary learning without samples, with codes', async () => {
    const none = await run(
      'transplant',
      '--from',
      'bird-seg',
      '--to',
      'cat-cls',
      '--steps',
      '2',
      '--no-publish',
    );
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('E_TEACHER_MISSING');
    const noSamples = await run(
      'transplant',
      '--from',
      'bird-seg',
      '--to',
      'cat-cls',
      '--method',
      'ol',
      '--no-publish',
    );
    expect(noSamples.code).toBe(2);
    expect(noSamples.stderr).toContain('E_INVALID_ARGUMENT');
    const ol = await run(
      '--json',
      'transplant',
      '--from',
      'bird-seg',
      '--to',
      'cat-cls',
      '--method',
      'ol',
      '--samples',
      '4',
      '--steps',
      '2',
      '--no-publish',
      '--reports',
      join(dir, 'reports'),
    );
    expect(JSON.parse(ol.stdout)).toMatchObject({
      method: 'ol',
      samples: 4,
      annotatedImages: 4,
      knownNegatives: 200,
      metric: { name: 'iou' },
    });
    const wrongTeacher = await run(
      'transplant',
      '--from',
      'bird-cls',
      '--to',
      'cat-cls',
      '--teacher',
      'bird-cls',
      '--steps',
      '2',
      '--no-publish',
    );
    expect(wrongTeacher.stderr).toContain('E_TEACHER_INVALID');
  });
});
