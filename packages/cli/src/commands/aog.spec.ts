import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '@transplant/core';
import type { AogParse, AogSummary } from '@transplant/explanatory-graph';
import { cliRunner, publishTinyClassifiers } from '../testing/tiny-classifiers';

/** Any decodable picture stands for a user's photo. */
const PICTURE = fileURLToPath(new URL('../../../../docs/preview-bird.png', import.meta.url));

let dir: string;
let reg: string;
let graph: string;
const run = cliRunner(() => reg);

beforeAll(async () => {
  await selectBackend({ requested: 'wasm', env: {} });
  dir = await mkdtemp(join(tmpdir(), 'transplant-cli-aog-'));
  reg = join(dir, 'registry');
  graph = join(dir, 'cat.egraph');
  await publishTinyClassifiers(reg, [{ name: 'cat-cls', category: 'cat' }]);
  const mined = await run(
    ...['graph', 'mine', '--net', 'cat-cls', '--out', graph, '--attach'],
    ...['--images', '8', '--negatives', '4', '--iterations', '2'],
  );
  expect(mined.code, mined.stderr).toBe(0);
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

describe('transplant aog', () => {
  it('learns an AOG into a file and onto the category module, inspects both, localizes with the attached one', async () => {
    const file = join(dir, 'cat.aog');
    const html = join(dir, 'browser');
    const tensors = tf.memory().numTensors;
    const learned = await run(
      ...['--json', 'aog', 'learn', '--net', 'cat-cls', '--graph', graph, '--shots', '2', '--pool', '12'],
      ...['--top', '3', '--parts', 'head,torso', '--out', file, '--attach', '--html', html],
    );
    expect(learned.code, learned.stderr).toBe(0);
    expect(learned.stderr).toMatch(/aog learn/);
    const summary = JSON.parse(learned.stdout) as AogSummary & { html: string };
    expect(summary).toMatchObject({
      subject: { module: 'cat-cls-features', version: '1.0.0' },
      attached: 'cat-cls-features@1.0.0',
      size: { parts: 2, templates: 4 },
    });
    expect(summary.parts.map((p) => p.part)).toEqual(['head', 'torso']);
    for (const p of summary.parts) {
      expect(p.templates.map((t) => t.view)).toEqual(['as mined', 'mirrored']);
      expect(p.templates.every((t) => t.nodes.length > 0 && t.nodes.length <= 3)).toBe(true);
    }
    expect(summary.html).toBe(join(html, 'index.html'));
    expect(await readFile(join(html, 'aog.html'), 'utf8')).toMatch(/AND · head/);
    expect((await run('registry', 'info', 'cat-cls-features')).stdout).toMatch(/attached aog {2}sha256:/);

    const fromFile = JSON.parse((await run('--json', 'aog', 'inspect', '--aog', file)).stdout) as AogSummary;
    const attached = JSON.parse(
      (await run('--json', 'aog', 'inspect', '--net', 'cat-cls')).stdout,
    ) as AogSummary;
    expect(attached.parts).toEqual(fromFile.parts);
    const text = await run('aog', 'inspect', '--aog', file, '--nodes', '1');
    expect(text.stdout).toMatch(/head \(AND\) → OR over 2 templates/);
    expect(text.stdout).toMatch(
      /template as mined: .*\n {6}node \d+ of cat-cls-features:block\d_conv1 filter \d+/,
    );

    // The attached graph and AOG; a synthetic test crop (annotated: distances reported) and a photo file.
    const png = join(dir, 'parse.png');
    const parsed = await run(
      '--json',
      'aog',
      'localize',
      '--net',
      'cat-cls',
      '--image',
      'test:2',
      '--png',
      png,
    );
    expect(parsed.code, parsed.stderr).toBe(0);
    const report = JSON.parse(parsed.stdout) as AogParse & {
      parts: {
        part: string;
        point: [number, number];
        annotated: [number, number];
        distance: number;
        template: number | null;
        votes: unknown[];
      }[];
    };
    expect(report.index).toBe(2);
    expect(report.parts.map((p) => p.part)).toEqual(['head', 'torso']);
    for (const p of report.parts) {
      // The parse's point against the image's annotated centre, over the diagonal of the tiny classifiers' 16-pixel input.
      const side = 16;
      expect(p.distance).toBeCloseTo(
        Math.hypot(p.point[0] - p.annotated[0], p.point[1] - p.annotated[1]) / (side * Math.SQRT2),
        9,
      );
      expect(p.distance).toBeLessThan(1);
      expect(p.votes.length).toBeGreaterThan(0);
    }
    expect((await readFile(png)).subarray(1, 4).toString()).toBe('PNG');
    const photo = await run('aog', 'localize', '--net', 'cat-cls', '--aog', file, '--image', PICTURE);
    expect(photo.code, photo.stderr).toBe(0);
    expect(photo.stdout).toMatch(
      /head: \([\d.]+, [\d.]+\) px by (template (as mined|mirrored)|no OR choice: the templates tie)/,
    );
    expect(tf.memory().numTensors).toBe(tensors);
  });

  it('says what is wrong: nowhere to put the AOG, both or neither source, an AOG of another graph, a damaged file', async () => {
    expect((await run('aog', 'learn', '--net', 'cat-cls')).stderr).toMatch(
      /E_USAGE.*--out FILE and\/or --attach/,
    );
    expect((await run('aog', 'inspect')).stderr).toMatch(/E_USAGE.*--aog FILE or --net REF/);
    const other = join(dir, 'other.egraph');
    const mined = await run(
      ...['graph', 'mine', '--net', 'cat-cls', '--out', other, '--seed', 'other'],
      ...['--images', '4', '--negatives', '2', '--iterations', '1'],
    );
    expect(mined.code, mined.stderr).toBe(0);
    const file = join(dir, 'first.aog');
    expect(
      (
        await run(
          'aog',
          'learn',
          '--net',
          'cat-cls',
          '--graph',
          graph,
          '--shots',
          '1',
          '--pool',
          '6',
          '--out',
          file,
        )
      ).code,
    ).toBe(0);
    const wrong = await run(
      'aog',
      'localize',
      '--net',
      'cat-cls',
      '--graph',
      other,
      '--aog',
      file,
      '--image',
      'test:0',
    );
    expect(wrong.stderr).toMatch(/E_AOG_MISMATCH.*learned on graph sha256:/);
    expect(wrong.code).toBe(2);
    const bytes = await readFile(file);
    bytes[bytes.length - 3]! ^= 0xff;
    const damaged = join(dir, 'damaged.aog');
    await writeFile(damaged, bytes);
    expect((await run('aog', 'inspect', '--aog', damaged)).stderr).toMatch(/E_ARTIFACT_CORRUPT/);
    expect((await run('aog', 'inspect', '--aog', graph)).stderr).toMatch(/E_ARTIFACT_FOREIGN/);
  });
});
