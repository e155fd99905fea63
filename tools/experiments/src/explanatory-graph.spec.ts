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
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

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
    };
    const results = fewShotLocalization(graph, protocol);
    expect(results.map((r) => `${r.part}:${r.k}`)).toEqual(['head:1', 'head:3', 'torso:1', 'torso:3']);
    // The shots are drawn from the seed alone: the same seed gives the same numbers, another seed
    // other shots and so other numbers; and the methods locate differently, not one shared guess.
    expect(fewShotLocalization(graph, protocol)).toEqual(results);
    const oneShot = (rs: typeof results) => rs.filter((r) => r.k === 1).map((r) => r.distance);
    expect(oneShot(fewShotLocalization(graph, { ...protocol, seed: 't' }))).not.toEqual(oneShot(results));
    for (const r of results) expect(new Set(Object.values(r.distance)).size).toBeGreaterThan(1);
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
