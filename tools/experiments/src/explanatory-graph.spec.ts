import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { chromium } from 'playwright-core';
import { testPlugins } from '@transplant/platform/testing';
import { selectBackend } from '@transplant/core';
import {
  decodeGraph,
  encodeGraph,
  fewShotLocalization,
  graphSize,
  graphVsFilterStability,
  inferGraph,
  loadGraph,
  mineGraph,
  partCentres,
  renderLocalizedParts,
  renderNodePatches,
  saveGraph,
  writeGraphBrowser,
} from '@transplant/explanatory-graph';
import {
  INTERPRETABLE_DEFAULTS,
  backgroundImages,
  buildExperimentNetwork,
  networkModules,
  partImages,
} from '@transplant/interpretable';
import { SyntheticSet } from '@transplant/data';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  GRAPH_STREAMS,
  chooseLambdas,
  formatGraphReport,
  runGraphCategory,
  type GraphRunResult,
} from './explanatory-graph-runs';

/** Debian's Chromium (tools/scripts/install-system-deps.sh installs it), or TRANSPLANT_CHROMIUM. */
const CHROMIUM = process.env['TRANSPLANT_CHROMIUM'] ?? '/usr/bin/chromium';

const tiny = {
  ...INTERPRETABLE_DEFAULTS,
  imageSize: 16,
  blocks: [[4], [8]],
  categories: ['cat'] as const,
  mask: 'none' as const,
};
const names = networkModules('g');
const link = { category: names.category, task: names.task };
const images = partImages('cat', { count: 12, size: 16, crop: true, seed: 'graph-spec' });
const test = partImages('cat', { count: 8, size: 16, crop: true, seed: 'graph-spec-test' });
const negatives = backgroundImages('cat', { count: 6, size: 16, seed: 'graph-spec-neg' });
let dir = '';
let network: ReturnType<typeof buildExperimentNetwork>;

beforeAll(async () => {
  await selectBackend({ requested: 'wasm', env: {} });
  network = buildExperimentNetwork(testPlugins(), 'g', tiny);
  dir = await mkdtemp(join(tmpdir(), 'transplant-graph-'));
});
afterAll(async () => {
  network.dispose();
  await rm(dir, { recursive: true, force: true });
});

describe('explanatory graph on a network', () => {
  it('mines and infers without leaking tensors, saves to a file that reads back identical, refuses damaged files and other modules', async () => {
    const before = tf.memory().numTensors;
    const progress: string[] = [];
    const { graph } = mineGraph(
      { network, link },
      {
        images,
        negatives,
        iterations: 2,
        onProgress: (p) => progress.push(`${p.layer}:${p.iteration}`),
      },
    );
    const inference = inferGraph(graph, { network, link, images: test });
    expect(tf.memory().numTensors).toBe(before);

    // The category module's top two conv layers, top first: 8×8 maps (7 nodes per filter), then 16×16 (13).
    expect(graph.layers.map((l) => l.name)).toEqual([
      `${names.category}:block2_conv1`,
      `${names.category}:block1_conv1`,
    ]);
    expect(graphSize(graph).perLayer).toEqual([8 * 7, 4 * 13]);
    expect(progress).toEqual([
      `${names.category}:block2_conv1:1`,
      `${names.category}:block2_conv1:2`,
      `${names.category}:block1_conv1:1`,
      `${names.category}:block1_conv1:2`,
    ]);
    const low = graph.layers[1]!.state;
    expect(Array.from(low.parents).every((u) => u >= -1 && u < 8 * 7)).toBe(true);
    expect(Array.from(low.parents).some((u) => u >= 0)).toBe(true);
    expect(graph.views.template).toHaveLength(8 * 8 * 8);
    expect(inference.layers.every((l) => l.pos.every((p) => p >= 0 && p <= 16))).toBe(true);

    const file = join(dir, 'cat.egraph');
    await saveGraph(graph, file);
    const again = await loadGraph(file);
    expect(encodeGraph(again)).toEqual(encodeGraph(graph));
    const reinferred = inferGraph(again, { network, link, images: test });
    expect(Array.from(reinferred.layers[1]!.pos)).toEqual(Array.from(inference.layers[1]!.pos));
    // Streaming over the images a few at a time infers exactly what one pass over all of them does.
    expect(test.samples.length).toBeGreaterThan(3);
    const streamed = inferGraph(graph, { network, link, images: test, chunk: 3 });
    const whole = inferGraph(graph, { network, link, images: test, chunk: test.samples.length });
    for (const inf of [streamed, whole]) {
      expect(Array.from(inf.flips)).toEqual(Array.from(inference.flips));
      inf.layers.forEach((l, i) => {
        expect(Array.from(l.pos)).toEqual(Array.from(inference.layers[i]!.pos));
        expect(Array.from(l.total)).toEqual(Array.from(inference.layers[i]!.total));
      });
      expect(inf.baselines).toEqual(inference.baselines);
    }
    expect(inference.baselines.filters['as-is'].units).toBe(8 + 4);
    expect(inference.baselines.pooled.chosen).toHaveLength(test.samples.length);
    expect(tf.memory().numTensors).toBe(before);

    const bytes = await readFile(file);
    bytes[bytes.length - 5]! ^= 0xff;
    expect(() => decodeGraph(bytes)).toThrow(expect.objectContaining({ code: 'E_ARTIFACT_CORRUPT' }));
    expect(() => decodeGraph(new TextEncoder().encode('{"not":"a graph"}'))).toThrow(
      expect.objectContaining({ code: expect.stringMatching(/E_ARTIFACT_(CORRUPT|FOREIGN)/) }),
    );
    const other = buildExperimentNetwork(testPlugins(), 'h', tiny);
    const otherNames = networkModules('h');
    expect(() =>
      inferGraph(graph, {
        network: other,
        link: { category: otherNames.category, task: otherNames.task },
        images: test,
      }),
    ).toThrow(
      expect.objectContaining({
        code: 'E_GRAPH_MISMATCH',
        message: expect.stringMatching(/mine a graph for this category module/i),
      }),
    );
    other.dispose();
  });

  it('localizes parts from K shots with every method, measures node and filter instability, and draws nodes and parts', async () => {
    const { graph } = mineGraph({ network, link }, { images, negatives, iterations: 2 });
    const pool = inferGraph(graph, { network, link, images });
    const held = inferGraph(graph, { network, link, images: test });
    const protocol = {
      pool: { images, inference: pool },
      test: { images: test, inference: held },
      parts: ['head', 'torso'] as const,
      shots: [1, 3],
      draws: 2,
      top: 5,
      seed: 's',
      lambdas: [0.01, 1, 1e9],
    };
    const results = fewShotLocalization(graph, protocol);
    expect(results.map((r) => `${r.part}:${r.k}`)).toEqual(['head:1', 'head:3', 'torso:1', 'torso:3']);
    // The shots are drawn from the seed alone: the same seed gives the same numbers, another seed
    // other shots and so other numbers; and the methods locate differently, not one shared guess.
    expect(fewShotLocalization(graph, protocol)).toEqual(results);
    const oneShot = (rs: typeof results) => rs.filter((r) => r.k === 1).map((r) => r.distance);
    expect(oneShot(fewShotLocalization(graph, { ...protocol, seed: 't' }))).not.toEqual(oneShot(results));
    for (const r of results) expect(new Set(Object.values(r.distance)).size).toBeGreaterThan(1);
    for (const r of results) {
      // The λ sweep refits the same ridge: at λ = 1 (the default) it is the reported baseline.
      expect(r.ridge!['pooled-linear'][1]).toBeCloseTo(r.distance['pooled-linear'], 12);
      expect(r.ridge!['pooled-linear-aligned'][1]).toBeCloseTo(r.distance['pooled-linear-aligned'], 12);
      // One shot: the prediction is the shot's position whatever λ is.
      if (r.k === 1) expect(new Set(r.ridge!['pooled-linear'].map((d) => d.toFixed(12))).size).toBe(1);
    }
    // Three shots: λ changes the fit (a huge λ predicts the shots' mean position).
    const three = results.find((r) => r.k === 3 && r.part === 'head')!;
    expect(three.ridge!['pooled-linear'][0]).not.toBeCloseTo(three.ridge!['pooled-linear'][2]!, 6);
    const chosen = chooseLambdas(results, [0.01, 1, 1e9]);
    const atK3 = (l: number) =>
      results.filter((r) => r.k === 3).reduce((s, r) => s + r.ridge!['pooled-linear'][l]!, 0);
    const bestK3 = [0, 1, 2].reduce((b, l) => (atK3(l) < atK3(b) ? l : b));
    expect(chosen['pooled-linear']['3']).toBe([0.01, 1, 1e9][bestK3]);
    const stability = graphVsFilterStability(graph, {
      inference: held,
      landmarks: [partCentres(test, 'head'), partCentres(test, 'torso')],
      topN: 4,
    });
    expect(stability.nodes.kept).toEqual([Math.ceil((167 / 512) * 8), Math.ceil((167 / 512) * 4)]);
    expect(stability.filters.perLayer).toHaveLength(2);

    const patches = renderNodePatches(
      { inference: held, images: test },
      [
        { layer: 0, node: 0 },
        { layer: 1, node: 3 },
      ],
      { images: 3 },
    );
    expect(patches.subarray(1, 4).toString()).toBe('PNG');
    const parts = renderLocalizedParts(test, {
      index: 0,
      predictions: [{ part: 'head', point: [4, 5] }],
      title: 'cat',
    });
    expect(parts.subarray(1, 4).toString()).toBe('PNG');
    await writeFile(join(dir, 'parts.png'), parts);
  });

  it('writes an HTML browser whose layer tabs and parent links work in headless Chromium', async () => {
    if (!existsSync(CHROMIUM))
      throw new Error(
        `no Chromium at ${CHROMIUM}: run tools/scripts/install-system-deps.sh (Debian's chromium) or set TRANSPLANT_CHROMIUM`,
      );
    const { graph } = mineGraph({ network, link }, { images, negatives, iterations: 2 });
    const inference = inferGraph(graph, { network, link, images });
    const index = await writeGraphBrowser(
      join(dir, 'browser'),
      { graph, inference, images },
      {
        nodesPerLayer: 4,
        images: 3,
      },
    );
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    try {
      const page = await browser.newPage();
      await page.goto(pathToFileURL(index).href);
      expect(await page.isVisible('#layer-0')).toBe(true);
      expect(await page.isVisible('#layer-1')).toBe(false);
      await page.click('button.tab[data-layer="1"]');
      expect(await page.isVisible('#layer-1')).toBe(true);
      expect(await page.isVisible('#layer-0')).toBe(false);
      // Every node strip loaded.
      expect(
        await page.$$eval('#layer-1 img', (imgs) =>
          imgs.every((i) => (i as unknown as { naturalWidth: number }).naturalWidth > 0),
        ),
      ).toBe(true);
      const link = page.locator('#layer-1 a.parent').first();
      const target = `n-0-${await link.getAttribute('data-node')}`;
      await link.click();
      expect(await page.isVisible('#layer-0')).toBe(true);
      expect(await page.isVisible('#layer-1')).toBe(false);
      expect(await page.getAttribute(`#${target}`, 'class')).toContain('selected');
    } finally {
      await browser.close();
    }
  });
});

describe('the explanatory-graph experiment under the protocol', () => {
  it('a run without final reads the dev crops and never a final-test crop; the final run reuses the graph, reads the final crops with the λ chosen on dev; the report says which', async () => {
    const rendered = vi.spyOn(SyntheticSet.prototype, 'render');
    const logs: string[] = [];
    const options = {
      images: 12,
      negatives: 6,
      test: 8,
      iterations: 2,
      shots: [1, 3],
      draws: 2,
      top: 5,
      views: 'align' as const,
      topN: 4,
      lambdas: [0.1, 10],
      log: (line: string) => logs.push(line),
    };
    const subject = { category: 'cat' as const, network, name: 'g@1.0.0' };
    const devRuns: GraphRunResult[] = [];
    for (const seed of [1, 2, 3])
      devRuns.push(
        await runGraphCategory(subject, {
          ...options,
          seed,
          final: false,
          graphFile: join(dir, `exp-s${seed}.egraph`),
          ...(seed === 1 ? { pictures: dir } : {}),
        }),
      );
    const seen = rendered.mock.calls.map(([ref]) => ref.seed);
    rendered.mockClear();
    expect(seen.some((s) => s.startsWith(`${GRAPH_STREAMS.dev}:`))).toBe(true);
    expect(seen.filter((s) => s.startsWith(`${GRAPH_STREAMS.final}:`))).toEqual([]);
    expect(devRuns.every((r) => r.final === undefined)).toBe(true);
    // Each seed mines its own crops: three different graphs.
    expect(new Set(devRuns.map((r) => r.graphDigest)).size).toBe(3);
    expect(devRuns[1]!.settings.seedNames.mine).toBe('graph-mine-s2');
    expect(devRuns[0]!.pictures).toEqual(['cat-nodes.png', 'cat-parts.png']);

    const finalRun = await runGraphCategory(
      subject,
      { ...options, seed: 2, final: true, graphFile: join(dir, 'exp-s2.egraph') },
      devRuns[1],
    );
    expect(logs.some((l) => l.includes('graph read back'))).toBe(true);
    expect(finalRun.graphDigest).toBe(devRuns[1]!.graphDigest);
    expect(finalRun.dev).toEqual(devRuns[1]!.dev);
    expect(rendered.mock.calls.some(([ref]) => ref.seed.startsWith(`${GRAPH_STREAMS.final}:`))).toBe(true);
    rendered.mockRestore();
    expect(finalRun.final!.split).toBe('test');
    expect(finalRun.final!.lambda).toEqual(devRuns[1]!.dev.lambda);

    const meta = { backend: 'wasm', machine: 'X, 2 cores, avx', command: 'c' };
    const dev = formatGraphReport(devRuns, { ...meta, final: false });
    expect(dev).toContain('dev numbers, not the final test');
    expect(dev).toMatch(/\| cat \| 3 \| 3 \| \*\*0\.\d{3} \[-?0\.\d{3}, 0\.\d{3}\]\*\*/);
    expect(dev).toContain('| **average (1 categories)** | 3 | 3 |');
    // Findings in words carry their paired test; a direction only with p < 0.05.
    expect(dev).toMatch(
      /- K = 3: the graph's distance (is lower than|is higher than|and) that of each category's best baseline.*paired t test p [^,]+, n = 3\)/,
    );
    const final = formatGraphReport([devRuns[0]!, finalRun, devRuns[2]!], { ...meta, final: true });
    expect(final).toContain(': final test');
    expect(final).toContain('Not in this report (no final-test numbers yet): cat seed 1, cat seed 3.');
  });
});
