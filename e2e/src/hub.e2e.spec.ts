import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Composer,
  createModule,
  moduleArtifact,
  predictImage,
  publishModule,
  publishNetwork,
} from '@transplant/composer';
import { selectBackend } from '@transplant/core';
import { decodeImage, encodePng, resizeLinear } from '@transplant/data';
import { mineCategoryGraph } from '@transplant/explanatory-graph';
import { startHub, type HubHandle } from '@transplant/hub';
import {
  HUB_FIXTURE,
  REPORT_PICTURE,
  snapshotFolder,
  writeHubRegistry,
  type AdapterMaker,
} from '@transplant/hub/testing';
import { partImages } from '@transplant/interpretable';
import { testPlugins } from '@transplant/platform/testing';
import * as tf from '@tensorflow/tfjs';

const CHROMIUM = process.env['TRANSPLANT_CHROMIUM'] ?? '/usr/bin/chromium';
/** Where the screenshots go: a temporary folder, or (to refresh docs/) TRANSPLANT_HUB_SCREENSHOTS. */
const SHOTS = process.env['TRANSPLANT_HUB_SCREENSHOTS'];
/** A network whose category module is interpretable: a PartMask layer the page must register. */
const INTERPRETABLE = 'cat-cls-interpretable';

/**
 * The hub in headless Chromium over a temporary registry (the zoo's cat-cls and cat-seg, a real
 * adapter between cat-seg's category module and cat-cls's head, the `via` network composing them, a
 * generic network, an explanatory graph mined here and attached): list → card → lineage → matrix →
 * the graph view → running networks in the page, whose outputs must match Node's predictImage.
 */
describe('the hub in a browser', () => {
  let dir: string;
  let shots: string;
  let hub: HubHandle;
  let browser: Browser;
  let page: Page;
  let composer: Composer;
  let before: Record<string, string>;
  const timings: Record<string, number | string> = {};
  /** Errors the pages raised and failed requests: none may happen. */
  const problems: string[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM))
      throw new Error(
        `no Chromium at ${CHROMIUM}: run tools/scripts/install-system-deps.sh (Debian's chromium) or set TRANSPLANT_CHROMIUM`,
      );
    await selectBackend({ requested: 'cpu', env: {} });
    dir = await mkdtemp(join(tmpdir(), 'hub-e2e-'));
    shots = SHOTS ? resolve(SHOTS) : join(dir, 'shots');
    await mkdir(shots, { recursive: true });
    const plugins = testPlugins();
    // A real conv1 adapter (identity at step 0) between the 8×8×64 maps, so that the `via` network runs.
    const makeAdapter: AdapterMaker = async ({ category, task }) => {
      const adapter = createModule(plugins, {
        name: HUB_FIXTURE.adapter,
        family: 'adapter-conv',
        options: { size: 8, channels: 64, stride: 8, layers: 1 },
        seed: 1,
      });
      const artifact = moduleArtifact(adapter, {
        version: '1.0.0',
        generatedBy: 'transplant/0.1.0',
        provenance: { data: 'test', seed: 1, steps: 0, backend: 'cpu' },
        card: { metrics: [] },
        dependencies: [
          {
            name: category.name,
            kind: 'category',
            range: category.version,
            pinned: { version: category.version, digest: category.digest },
          },
          {
            name: task.name,
            kind: 'task',
            range: task.version,
            pinned: { version: task.version, digest: task.digest },
          },
        ],
      });
      adapter.model.dispose();
      return { manifest: artifact.manifest as unknown as Record<string, unknown>, weights: artifact.weights };
    };
    const registry = await writeHubRegistry(join(dir, 'registry'), makeAdapter);
    composer = new Composer(registry, plugins);
    // An interpretable category module (a PartMask after its top conv layer) under cat-cls's head.
    const meta = {
      version: '1.0.0',
      generatedBy: 'transplant/0.1.0',
      provenance: { data: 'test', seed: 3, steps: 0, backend: 'cpu' },
      card: { metrics: [] },
    };
    const masked = createModule(plugins, {
      name: 'cat-masked-features',
      family: 'category-vgg',
      options: { inputSize: 64, blocks: [[16], [32], [32], [64]], mask: 'argmax' },
      seed: 3,
      category: 'cat',
    });
    await publishModule(registry, masked, meta);
    masked.model.dispose();
    const interpretable = await composer.compose([
      { category: 'cat-masked-features@1.0.0', task: 'cat-cls-head@latest' },
    ]);
    await publishNetwork(registry, interpretable, { ...meta, name: INTERPRETABLE });
    interpretable.dispose();
    const t0 = performance.now();
    const { network, manifest } = await composer.load('cat-cls');
    await mineCategoryGraph({
      network,
      link: network.links[0]!,
      category: 'cat',
      reference: `cat-cls@${manifest.version}`,
      images: 12,
      negatives: 6,
      iterations: 2,
      attach: { registry },
    });
    network.dispose();
    timings['mine graph (s)'] = (performance.now() - t0) / 1000;
    before = await snapshotFolder(join(dir, 'registry'));
    hub = await startHub({
      registry,
      location: join(dir, 'registry'),
      composer,
      generatedBy: 'transplant/0.1.0',
    });
    browser = await chromium.launch({
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
    page = await browser.newPage({ viewport: { width: 1100, height: 760 } });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console: ${message.text()}`);
    });
    page.on('response', (response) => {
      if (response.status() >= 400) problems.push(`${response.status()} ${response.url()}`);
    });
    // Nothing may leave the machine: every request the pages make goes to the hub. A listener's
    // throw would be lost inside playwright: the request is a problem, asserted at the end.
    page.on('request', (request) => {
      if (
        !request.url().startsWith(hub.url) &&
        !request.url().startsWith('data:') &&
        !request.url().startsWith('blob:')
      )
        problems.push(`outside request: ${request.url()}`);
    });
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await hub?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
    console.log(`hub e2e timings: ${JSON.stringify(timings)}`);
    if (problems.length) console.log(problems.join('\n'));
  });

  it('lists and searches the modules and networks', async () => {
    await page.goto(hub.url);
    expect(await page.locator('#modules tbody tr').count()).toBe(11);
    expect(await page.textContent('#modules')).toContain('error-rate 0.0350');
    await page.fill('#q', 'seg');
    expect(await page.locator('#modules tbody tr:visible').count()).toBe(5);
    await page.screenshot({ path: join(shots, 'hub-list.png') });
    await page.fill('#q', '');
  });

  it('opens a module card from the list', async () => {
    await page.click(`#modules a[href="/modules/${HUB_FIXTURE.adapter}"]`);
    await page.waitForURL(`**/modules/${HUB_FIXTURE.adapter}`);
    expect(await page.textContent('h1')).toContain('1.0.0');
    expect(await page.textContent('#metrics')).toContain('synthetic:v1 cat dev 200 + 200, seeds 1');
    expect(await page.textContent('#versions')).toContain('yanked');
    expect(await page.textContent('#dependencies')).toContain('cat-seg-features@');
    expect(await page.textContent('#dependents')).toContain(HUB_FIXTURE.via);
    await page.screenshot({ path: join(shots, 'hub-card.png'), fullPage: false });
  });

  it('draws the lineage graph with cytoscape, and a click on a node opens its card', async () => {
    await page.click('nav a[href="/lineage"]');
    await page.waitForSelector('#lineage[data-ready="true"]');
    const graph = (await page.evaluate(
      '({ nodes: window.hubLineage.nodes().length, edges: window.hubLineage.edges().length })',
    )) as { nodes: number; edges: number };
    expect(graph.nodes).toBe(11);
    expect(graph.edges).toBeGreaterThanOrEqual(12);
    await page.screenshot({ path: join(shots, 'hub-lineage.png') });
    const at = (await page.evaluate(
      `window.hubLineage.getElementById(${JSON.stringify(HUB_FIXTURE.via)}).renderedPosition()`,
    )) as { x: number; y: number };
    const box = (await page.locator('#lineage').boundingBox())!;
    await page.mouse.click(box.x + at.x, box.y + at.y);
    await page.waitForURL(`**/modules/${HUB_FIXTURE.via}`);
  });

  it('shows the generic network matrix', async () => {
    await page.goto(`${hub.url}generic/${HUB_FIXTURE.generic}`);
    expect(await page.locator('#matrix .guard code').count()).toBe(3);
    expect(await page.textContent('#matrix')).toContain('error-rate 0.0500');
    await page.screenshot({ path: join(shots, 'hub-matrix.png') });
  });

  it('opens an attached explanatory graph in its browser view, and renders a report', async () => {
    const t0 = performance.now();
    await page.goto(`${hub.url}modules/cat-cls-features`);
    await page.click('#attachments a');
    await page.waitForSelector('#layer-0');
    timings['graph view (s)'] = (performance.now() - t0) / 1000;
    expect(await page.isVisible('#layer-0')).toBe(true);
    await expect
      .poll(
        () =>
          page.$$eval(
            '#layer-0 img',
            (imgs) =>
              imgs.length > 0 &&
              imgs.every((i) => (i as unknown as { naturalWidth: number }).naturalWidth > 0),
          ),
        { timeout: 30_000 },
      )
      .toBe(true);
    // A transplant report: its Markdown (a table) and its picture, served beside the page.
    await page.goto(`${hub.url}modules/${HUB_FIXTURE.via}/1.0.0`);
    await page.click(`#attachments a[href$="/${HUB_FIXTURE.report}/"]`);
    await page.waitForSelector('#report table');
    expect(await page.textContent('#report td:last-child')).toBe('6.25 %');
    await expect
      .poll(() => page.$eval('#report img', (i) => (i as unknown as { naturalWidth: number }).naturalWidth), {
        timeout: 10_000,
      })
      .toBe(REPORT_PICTURE.width);
    await page.screenshot({ path: join(shots, 'hub-report.png') });
  });

  /** Runs `ref` in the page on `image` and in Node; returns both. */
  async function both(ref: string, image: string, { inputTolerance = 0 } = {}) {
    const [name] = ref.split('@') as [string];
    await page.goto(`${hub.url}modules/${name}`);
    await page.click('#run-link');
    // Polled from here: the page's CSP (script-src 'self') refuses waitForFunction's string evaluation.
    await expect.poll(() => page.textContent('#backend'), { timeout: 30_000 }).not.toBe('loading…');
    const t0 = performance.now();
    await page.setInputFiles('#image', image);
    await page.waitForSelector('#run[data-state="done"], #run[data-state="failed"]');
    timings[`browser ${name} (ms)`] = performance.now() - t0;
    expect(await page.textContent('#status')).toBe('');
    const browserResult = JSON.parse((await page.getAttribute('#run', 'data-result'))!) as Record<
      string,
      number | string
    >;
    const outputs = (await page.evaluate('window.hubLastOutput')) as number[];
    const { network } = await composer.load(ref);
    try {
      const link = network.links[0]!;
      const node = await predictImage({ network, link, image, out: join(dir, `${name}.overlay.png`) });
      // The input Node makes of the image (predictImage's resize), byte for byte the page's.
      const decoded = await decodeImage(image);
      const rgb = resizeLinear(decoded.rgb, decoded.width, decoded.height, 3, 64);
      const browserInput = (await page.evaluate('window.hubLastInput')) as number[];
      const inputDiff = Math.max(...browserInput.map((v, i) => Math.abs(v - rgb[i]!)));
      if (inputTolerance === 0) expect(browserInput).toEqual(Array.from(rgb));
      else expect(inputDiff).toBeLessThanOrEqual(inputTolerance);
      const input = tf.tidy(() => tf.div(tf.tensor4d(rgb, [1, 64, 64, 3], 'float32'), 255));
      const logits = network.run(link.category, link.task, input as tf.Tensor4D);
      const nodeOutputs = Array.from(logits.dataSync());
      tf.dispose([input, logits]);
      return { browserResult, outputs, node, nodeOutputs, inputDiff };
    } finally {
      network.dispose();
    }
  }

  it('runs cls and seg networks in the page with stock tfjs, matching Node within 1e-4', async () => {
    const [scene] = partImages('cat', { count: 1, size: 64, seed: 'hub-e2e' }).samples;
    const image = join(dir, 'cat.png');
    await writeFile(image, await encodePng({ width: 64, height: 64, rgb: scene!.rgb }));
    const diff = (a: number[], b: number[]) => Math.max(...a.map((v, i) => Math.abs(v - b[i]!)));
    for (const ref of ['cat-cls', HUB_FIXTURE.via, INTERPRETABLE]) {
      const { browserResult, outputs, node, nodeOutputs } = await both(ref, image);
      if (node.task !== 'cls') throw new Error('expected cls');
      expect(browserResult['task']).toBe('cls');
      expect(Math.abs((browserResult['logit'] as number) - node.logit)).toBeLessThan(1e-4);
      expect(Math.abs((browserResult['score'] as number) - node.score)).toBeLessThan(1e-4);
      expect(diff(outputs, nodeOutputs)).toBeLessThan(1e-4);
      timings[`${ref} |Δlogit|`] = Math.abs((browserResult['logit'] as number) - node.logit);
      timings[`${ref} logit`] = node.logit;
      timings['browser backend'] = String(browserResult['backend']);
      expect(await page.textContent('#result')).toContain('score');
    }
    const { browserResult, outputs, node, nodeOutputs } = await both('cat-seg', image);
    if (node.task !== 'seg') throw new Error('expected seg');
    expect(outputs).toHaveLength(64 * 64);
    expect(diff(outputs, nodeOutputs)).toBeLessThan(1e-4);
    timings['cat-seg max |Δlogit|'] = diff(outputs, nodeOutputs);
    expect(Math.abs((browserResult['foreground'] as number) - node.foreground)).toBeLessThanOrEqual(2 / 4096);
    expect(await page.textContent('#result')).toContain('% of the pixels');
    expect(await page.textContent('#backend')).toMatch(/^(webgl|cpu|wasm)$/);
    await page.screenshot({ path: join(shots, 'hub-run.png') });
    expect(await snapshotFolder(join(dir, 'registry'))).toEqual(before);
  });

  it('resizes a photo of another size as Node does: the same input bytes, outputs within 1e-4', async () => {
    // A 173 × 121 photo (a 64 × 64 scene enlarged, with a gradient and noise over it), as PNG and JPEG.
    const [scene] = partImages('cat', { count: 1, size: 64, seed: 'hub-e2e-photo' }).samples;
    const [w, h] = [173, 121];
    const rgb = Uint8Array.from({ length: w * h * 3 }, (_, i) => {
      const p = Math.floor(i / 3);
      const [x, y] = [p % w, Math.floor(p / w)];
      const v = scene!.rgb[(Math.floor((y * 64) / h) * 64 + Math.floor((x * 64) / w)) * 3 + (i % 3)]!;
      return Math.max(0, Math.min(255, v + ((x + 2 * y) % 23) - 11));
    });
    const png = join(dir, 'photo.png');
    await writeFile(png, await encodePng({ width: w, height: h, rgb }));
    const jpeg = join(dir, 'photo.jpg');
    await sharp(rgb, { raw: { width: w, height: h, channels: 3 } })
      .jpeg({ quality: 90 })
      .toFile(jpeg);
    const diff = (a: number[], b: number[]) => Math.max(...a.map((v, i) => Math.abs(v - b[i]!)));
    for (const image of [png, jpeg]) {
      const { browserResult, outputs, node, nodeOutputs } = await both('cat-cls', image);
      if (node.task !== 'cls') throw new Error('expected cls');
      expect(Math.abs((browserResult['logit'] as number) - node.logit)).toBeLessThan(1e-4);
      expect(diff(outputs, nodeOutputs)).toBeLessThan(1e-4);
      timings[`cat-cls ${image.slice(-3)} 173×121 |Δlogit|`] = Math.abs(
        (browserResult['logit'] as number) - node.logit,
      );
    }
    const seg = await both('cat-seg', png);
    expect(diff(seg.outputs, seg.nodeOutputs)).toBeLessThan(1e-4);
    // A phone's photo: EXIF orientation 6 (turn 90° clockwise to view) — upright in both.
    const turned = join(dir, 'photo-turned.jpg');
    await sharp(rgb, { raw: { width: w, height: h, channels: 3 } })
      .jpeg({ quality: 90 })
      .withMetadata({ orientation: 6 })
      .toFile(turned);
    expect((await decodeImage(turned)).width).toBe(h);
    const upright = await both('cat-cls', turned);
    expect(
      Math.abs((upright.browserResult['logit'] as number) - (upright.node as { logit: number }).logit),
    ).toBeLessThan(1e-4);
    // A Display P3 photo: each side converts it to sRGB with its own colour engine.
    const p3 = join(dir, 'photo-p3.png');
    await sharp(rgb, { raw: { width: w, height: h, channels: 3 } })
      .withIccProfile('p3')
      .png()
      .toFile(p3);
    const wide = await both('cat-cls', p3, { inputTolerance: 2 });
    timings['cat-cls p3 |Δlogit|'] = Math.abs(
      (wide.browserResult['logit'] as number) - (wide.node as { logit: number }).logit,
    );
    timings['cat-cls p3 max |Δinput|'] = wide.inputDiff;
  });

  it('raised no script error on any page and answered every request it made', () => {
    expect(problems).toEqual([]);
  });
});
