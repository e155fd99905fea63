import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { decodeReport, selectBackend } from '@transplant/core';
import { FolderStore, Registry } from '@transplant/registry';
import { SyntheticSet, encodePng } from '@transplant/data';
import { cliRunner, publishTinyClassifiers } from '../testing/tiny-classifiers';
import type { ExplainReport } from './explain';

let dir: string;
let reg: string;
const run = cliRunner(() => reg);

beforeAll(async () => {
  await selectBackend({ requested: 'wasm', env: {} });
  dir = await mkdtemp(join(tmpdir(), 'transplant-cli-explain-'));
  reg = join(dir, 'registry');
  await publishTinyClassifiers(reg, [{ name: 'bird-cls', category: 'bird', headConvs: [6] }]);
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe('transplant explain', () => {
  it('trains an explainer of a network and writes the report, with one image explained', async () => {
    const set = new SyntheticSet({
      seed: 'explain-cli',
      size: 16,
      categories: ['bird'],
      perCategory: { train: 1, dev: 0, test: 0 },
      negatives: { train: 0, dev: 0, test: 0 },
    });
    const sample = set.render(set.items('train')[0]!);
    const image = join(dir, 'bird.png');
    await writeFile(image, await encodePng(sample));
    const out = join(dir, 'report');
    const tensors = tf.memory().numTensors;
    // Every synthetic image the run renders, by its seed name (the protocol's streams).
    const rendered = vi.spyOn(SyntheticSet.prototype, 'render');
    const r = await run(
      '--json',
      'explain',
      '--net',
      'bird-cls',
      '--steps',
      '3',
      '--pool',
      '8',
      '--images',
      '6',
      '--test',
      '6',
      '--filters',
      '4',
      '--image',
      image,
      '--out',
      out,
      '--attach',
    );
    expect(r.code).toBe(0);
    const seeds = rendered.mock.calls.map(([ref]) => ref.seed);
    rendered.mockRestore();
    // A run without --final reads its pool, the dev pool and dev-side held-out images only,
    // never the final-test streams (explainer-final-*), which only the experiment's --final reads.
    expect(seeds.some((seed) => seed.startsWith('explainer-pool-1:'))).toBe(true);
    expect(seeds.some((seed) => seed.startsWith('explainer-eval'))).toBe(true);
    expect(seeds.filter((seed) => seed.includes('explainer-final'))).toEqual([]);
    // The workflow frees the network, the explainer and every step's tensors.
    expect(tf.memory().numTensors).toBe(tensors);
    const report = JSON.parse(r.stdout) as ExplainReport;
    expect(report).toMatchObject({ network: 'bird-cls@1.0.0', category: 'bird' });
    // Three steps: the step cap ends training, not the stopping rule.
    expect(report).toMatchObject({ steps: 3, converged: false, stream: 'dev' });
    expect(report.groups.reduce((s, g) => s + g.filters, 0)).toBe(4);
    // The talk's form: synthetic images carry texture annotation, so all four kinds are measured.
    const { parts, textures, background, notInterpretable } = report.talk;
    expect(textures).not.toBeNull();
    expect(parts.share + textures!.share + background.share + notInterpretable.share).toBeCloseTo(1, 6);
    expect(parts.filters + textures!.filters + background.filters + notInterpretable.filters).toBe(8);
    // The image's explanation is of the network's own prediction on it, its group shares a partition.
    const predicted = JSON.parse(
      (await run('--json', 'predict', '--net', 'bird-cls', '--image', image)).stdout,
    );
    expect(report.image!.logit).toBeCloseTo(predicted.logit, 5);
    const shares = report.image!.groups.map((g) => g.share);
    expect(shares.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 6);
    expect(shares).toEqual([...shares].sort((a, b) => b - a));
    const md = await readFile(join(out, 'report.md'), 'utf8');
    expect(md).toContain(
      `p = ${report.p.toFixed(3)}: on held-out images the interpretable track alone achieves ${(100 * report.p).toFixed(1)} % of the explainer's reconstruction`,
    );
    expect(md).toMatch(
      /stopped at the step cap before they settled\); .* of its decision \(first order\)\.$/m,
    );
    expect(md).toContain('![heat maps per part group](groups.png)');
    const pct = (v: number) => `${(100 * v).toFixed(1)} %`;
    expect(md).toContain(
      `Features: ${pct(parts.share)} parts, ${pct(textures!.share)} textures, ${pct(background.share)} background, ${pct(notInterpretable.share)} not interpretable.`,
    );
    expect(md).toMatch(/^\| textures \| \d+ \| [\d.]+ % \|/m);
    expect(await readFile(join(out, 'report.html'), 'utf8')).toContain('<img src="groups.png"');
    for (const png of ['groups.png', 'image.png'])
      expect((await readFile(join(out, png))).subarray(1, 4).toString()).toBe('PNG');
    // --attach: the report travels with the network, its Markdown and both pictures byte for byte.
    const attached = await new Registry(new FolderStore(reg)).attachment(
      'bird-cls@1.0.0',
      'explanation-report',
    );
    expect((report as ExplainReport & { attached: { digest: string } }).attached.digest).toBe(
      attached.digest,
    );
    const bundle = decodeReport(attached.bytes);
    expect(bundle.markdown).toBe(md);
    expect(bundle.files.map((f) => f.name).sort()).toEqual(['groups.png', 'image.png']);
    for (const f of bundle.files)
      expect(Buffer.from(f.bytes).equals(await readFile(join(out, f.name)))).toBe(true);
    // Attached once; again only with --replace.
    const again = [
      'explain',
      '--net',
      'bird-cls',
      '--steps',
      '1',
      '--pool',
      '8',
      '--images',
      '4',
      '--test',
      '4',
    ];
    const refused = await run(...again, '--filters', '2', '--out', join(dir, 'report-2'), '--attach');
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(
      /E_VERSION_EXISTS.*already has an explanation-report attachment.*--replace/,
    );
    expect(await run(...again, '--replace')).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--replace goes with --attach'),
    });
  });

  it('says what is wrong', async () => {
    expect((await run('explain', '--net', 'bird-cls', '--eta', 'much')).stderr).toMatch(
      /E_USAGE.*--eta must be a number/,
    );
    expect((await run('explain', '--net', 'bird-cls', '--steps', '0')).stderr).toMatch(
      /E_USAGE.*--steps must be an integer ≥ 1/,
    );
    // --class picks an output of the head; this one has one logit (output 0).
    expect((await run('explain', '--net', 'bird-cls', '--class', '1')).stderr).toMatch(
      /E_INVALID_ARGUMENT.*has no output 1; its outputs are 0–0/,
    );
    expect((await run('explain', '--net', 'bird-cls', '--class', 'bird')).stderr).toMatch(
      /E_INVALID_ARGUMENT.*does not name its outputs; choose one by index, 0–0/,
    );
  });
});
