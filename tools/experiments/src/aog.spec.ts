import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { chromium } from 'playwright-core';
import { testPlugins } from '@transplant/platform/testing';
import { selectBackend } from '@transplant/core';
import {
  decodeAog,
  drawPartShots,
  encodeAog,
  inferGraph,
  learnAog,
  localizeImagesWithAog,
  mineGraph,
  writeGraphBrowser,
  type AndOrGraph,
  type ExplanatoryGraph,
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
const names = networkModules('a');
const link = { category: names.category, task: names.task };
const pool = partImages('cat', { count: 10, size: 16, crop: true, seed: 'aog-spec' });
const test = partImages('cat', { count: 6, size: 16, crop: true, seed: 'aog-spec-test' });
const negatives = backgroundImages('cat', { count: 6, size: 16, seed: 'aog-spec-neg' });
let dir = '';
let network: ReturnType<typeof buildExperimentNetwork>;
let graph: ExplanatoryGraph;
let aog: AndOrGraph;

beforeAll(async () => {
  await selectBackend({ requested: 'wasm', env: {} });
  network = buildExperimentNetwork(testPlugins(), 'a', tiny);
  dir = await mkdtemp(join(tmpdir(), 'transplant-aog-'));
  graph = mineGraph({ network, link }, { images: pool, negatives, iterations: 2 }).graph;
});
afterAll(async () => {
  network.dispose();
  await rm(dir, { recursive: true, force: true });
});

describe('And-Or graph on a network', () => {
  it('learns from 3 shots per part, parses new images without leaking tensors, and survives its file', () => {
    const before = tf.memory().numTensors;
    const inference = inferGraph(graph, { network, link, images: pool });
    const parts = drawPartShots(pool, { k: 3, seed: 'aog-spec' });
    expect(parts.length).toBeGreaterThan(2);
    aog = learnAog(graph, inference, { parts, top: 4 });
    const { parses } = localizeImagesWithAog({ aog, graph, network, link, images: test });
    expect(tf.memory().numTensors).toBe(before);
    expect(aog.parts.map((p) => p.part)).toEqual(parts.map((p) => p.part));
    for (const p of aog.parts) {
      expect(p.templates.map((t) => t.view)).toEqual([0, 1]);
      // The three shots are split between the two views; a view without a shot gets a copy of the other.
      const own = p.templates.filter((t) => t.source === 'shots');
      expect(own.length).toBeGreaterThan(0);
      expect(new Set(own.flatMap((t) => t.shots)).size).toBe(own.reduce((s, t) => s + t.shots.length, 0));
      for (const t of p.templates) {
        expect(t.nodes.length).toBeGreaterThan(0);
        expect(t.nodes.length).toBeLessThanOrEqual(4);
        for (const n of t.nodes) expect(n.unit.layer).toBe(graph.layers[n.layer]!.name);
      }
    }
    expect(parses).toHaveLength(test.samples.length);
    for (const parse of parses)
      for (const p of parse.parts) {
        expect(p.point.every((v) => Number.isFinite(v))).toBe(true);
        expect(p.scores).toHaveLength(2);
        expect(p.score).toBe(Math.max(...p.scores));
        expect(p.votes.length).toBeGreaterThan(0);
      }
    expect(decodeAog(encodeAog(aog))).toEqual(aog);
  });

  it('shows its hierarchy in the graph browser: parts open to templates, template nodes link to graph nodes (Chromium)', async () => {
    if (!existsSync(CHROMIUM))
      throw new Error(
        `no Chromium at ${CHROMIUM}: run tools/scripts/install-system-deps.sh (Debian's chromium) or set TRANSPLANT_CHROMIUM`,
      );
    const inference = inferGraph(graph, { network, link, images: pool });
    const index = await writeGraphBrowser(
      join(dir, 'browser'),
      { graph, inference, images: pool },
      { nodesPerLayer: 2, images: 3, aog },
    );
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        '--disable-background-networking',
      ],
    });
    try {
      const page = await browser.newPage();
      await page.goto(pathToFileURL(index).href);
      await page.click('#aog-link');
      await page.waitForURL(/aog\.html$/);
      const shownParts = await page.$$eval('details.part', (ds) =>
        ds.map((d) => (d as unknown as { dataset: { part: string } }).dataset.part),
      );
      expect(shownParts).toEqual(aog.parts.map((p) => p.part));
      // Closed until clicked: the part's templates, then a template's nodes.
      expect(await page.isVisible('#part-0 details.template')).toBe(false);
      await page.click('#part-0 > summary');
      expect(await page.locator('#part-0 details.template').count()).toBe(2);
      // The page says what a template is: learned shots in the aligned frame, not a pose; a copy is not mirrored.
      const body = await page.textContent('body');
      expect(body).toContain("Both templates of a part apply in the graph's aligned frame");
      expect(body).toContain('A template is therefore not a pose');
      expect(body).not.toMatch(/nodes, mirrored/);
      for (const [pi, p] of aog.parts.entries())
        for (const t of p.templates)
          expect(
            await page.textContent(`#part-${pi} details.template[data-view="${t.view}"] > summary`),
          ).toContain(
            t.source === 'mirror' ? 'a copy of the other template, displacements unchanged' : 'learned from',
          );
      await page.click('#part-0 details.template[data-view="0"] > summary');
      const rows = page.locator('#part-0 details.template[data-view="0"] tr.aog-node');
      expect(await rows.count()).toBe(aog.parts[0]!.templates[0]!.nodes.length);
      expect(
        await page.$$eval('#part-0 details.template[data-view="0"] img', (imgs) =>
          imgs.every((i) => (i as unknown as { naturalWidth: number }).naturalWidth > 0),
        ),
      ).toBe(true);
      // A node's link opens the graph browser on its layer with its card selected.
      const first = aog.parts[0]!.templates[0]!.nodes[0]!;
      await rows.first().locator('a.graph-node').click();
      await page.waitForURL(/index\.html#n-/);
      expect(await page.isVisible(`#layer-${first.layer}`)).toBe(true);
      expect(await page.getAttribute(`#n-${first.layer}-${first.node}`, 'class')).toContain('selected');
    } finally {
      await browser.close();
    }
  });
});
