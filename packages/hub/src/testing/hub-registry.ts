import { cp } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { linkId } from '@transplant/composer';
import { encodeReport, encodeWeights, sha256Digest } from '@transplant/core';
import { encodePng } from '@transplant/data';
import { FolderStore, Registry, copyModule } from '@transplant/registry';
import { moduleFixture } from '@transplant/registry/testing';

/** The workspace's embedded registry (the model zoo), read only. */
export const WORKSPACE_REGISTRY = fileURLToPath(new URL('../../../../registry', import.meta.url));

/** An adapter's manifest and weights, pinned between a category and a task module. */
export type AdapterMaker = (pins: {
  readonly category: { name: string; version: string; digest: string };
  readonly task: { name: string; version: string; digest: string };
}) => Promise<{ manifest: Record<string, unknown>; weights: Uint8Array }>;

const pinOf = (p: { version: string; digest: string }) => ({ version: p.version, digest: p.digest });

const digestOf = (text: string) => sha256Digest(new TextEncoder().encode(text));

/** The report picture's size. */
export const REPORT_PICTURE = { width: 240, height: 120 } as const;

/** A loss curve as a report shows one: white, a grey frame, a blue curve falling as 1/(1 + step/20). */
function lossCurve(width: number, height: number) {
  const rgb = new Uint8Array(width * height * 3).fill(255);
  const dot = (x: number, y: number, colour: readonly number[]) => rgb.set(colour, (y * width + x) * 3);
  for (let x = 0; x < width; x++) [0, height - 1].forEach((y) => dot(x, y, [160, 160, 160]));
  for (let y = 0; y < height; y++) [0, width - 1].forEach((x) => dot(x, y, [160, 160, 160]));
  for (let x = 4; x < width - 4; x++) {
    const y = Math.round(8 + (height - 16) * (1 - 1 / (1 + (x - 4) / 20)));
    for (let t = -1; t <= 1; t++) dot(x, y + t, [44, 95, 179]);
  }
  return { width, height, rgb };
}

/** What {@link writeHubRegistry} published, for the assertions. */
export const HUB_FIXTURE = {
  networks: ['cat-cls', 'cat-seg'],
  adapter: 'cat-seg-features-to-cat-cls-head',
  via: 'cat-cls-via-cat-seg',
  generic: 'cats',
  report: 'transplant-report',
  reportPicture: 'cat-cls-via-cat-seg@1.0.0-bd-0-loss.png',
  notes: 'notes',
} as const;

/**
 * A registry for the hub's tests, in the folder `dir`: the zoo's cat-cls and cat-seg (copied
 * from the workspace registry, with their real cards) and, made here, an adapter pinned between
 * cat-seg's category module and cat-cls's task module (a yanked 1.0.1 beside 1.0.0), the `via`
 * network that composes them (with a transplant report bundle and JSON notes attached), and a generic network `cats` of three
 * links with its metrics and guard digests. `makeAdapter` makes the adapter (default: a fixture
 * whose weights no plugin could load — enough for every page but running it).
 */
export async function writeHubRegistry(dir: string, makeAdapter?: AdapterMaker): Promise<Registry> {
  const registry = new Registry(new FolderStore(dir));
  const zoo = new Registry(new FolderStore(WORKSPACE_REGISTRY));
  for (const name of HUB_FIXTURE.networks) await copyModule(zoo, registry, `${name}@latest`);
  const pin = async (name: string) => {
    const { manifest } = await registry.manifest(`${name}@latest`);
    return { name, version: manifest.version, digest: manifest.weights.digest };
  };
  const category = await pin('cat-seg-features');
  const task = await pin('cat-cls-head');
  const adapter =
    (await makeAdapter?.({ category, task })) ??
    moduleFixture({
      name: HUB_FIXTURE.adapter,
      version: '1.0.0',
      kind: 'adapter',
      dependencies: [
        { name: category.name, kind: 'category', range: category.version, pinned: pinOf(category) },
        { name: task.name, kind: 'task', range: task.version, pinned: pinOf(task) },
      ],
    });
  const adapterManifest = {
    ...adapter.manifest,
    name: HUB_FIXTURE.adapter,
    version: '1.0.0',
    card: {
      summary: 'adapter learned by back-distillation (hub test fixture)',
      metrics: [{ name: 'error-rate', value: 0.0625, on: 'synthetic:v1 cat dev 200 + 200, seeds 1' }],
    },
  };
  await registry.publish({ manifest: adapterManifest, weights: adapter.weights });
  await registry.publish({ manifest: { ...adapterManifest, version: '1.0.1' }, weights: adapter.weights });
  await registry.setYanked(HUB_FIXTURE.adapter, '1.0.1', { yanked: true });
  const adapterPin = await pin(HUB_FIXTURE.adapter);
  const network = (
    name: string,
    options: Record<string, unknown>,
    pins: (typeof category)[],
    metrics: unknown[],
  ) => {
    const { manifest } = moduleFixture({ name, version: '1.0.0', kind: 'network' });
    return {
      ...manifest,
      ports: {
        input: (manifest['ports'] as { input: unknown }).input,
        output: {
          role: 'logits',
          dtype: 'float32',
          shape: [null, 1],
          channels: 1,
          stride: 0,
          values: 'real',
        },
      },
      options,
      dependencies: pins.map((p) => ({
        name: p.name,
        kind: p === adapterPin ? 'adapter' : p.name.endsWith('-head') ? 'task' : 'category',
        range: p.version,
        pinned: { version: p.version, digest: p.digest },
      })),
      card: { metrics },
    };
  };
  const empty = encodeWeights([], { generatedBy: 'transplant/0.1.0' });
  const viaManifest = {
    ...network(
      HUB_FIXTURE.via,
      { links: [{ category: category.name, task: task.name, adapter: HUB_FIXTURE.adapter }] },
      [category, adapterPin, task],
      [{ name: 'error-rate', value: 0.0625, on: 'synthetic:v1 cat dev 200 + 200 (transplant, seed 1)' }],
    ),
    task: 'cls',
    category: 'cat',
  };
  // Networks carry no weights of their own: an empty weights blob, as publishNetwork writes.
  await publishNetworkFixture(registry, viaManifest, empty);
  // A transplant report as `transplant` attaches one: its Markdown and the picture it shows.
  const picture = await encodePng(lossCurve(REPORT_PICTURE.width, REPORT_PICTURE.height));
  await registry.attach(`${HUB_FIXTURE.via}@1.0.0`, {
    kind: HUB_FIXTURE.report,
    bytes: encodeReport({
      title: `Transplant: ${HUB_FIXTURE.via}@1.0.0`,
      markdown: [
        `# Transplant: ${HUB_FIXTURE.via}@1.0.0`,
        '',
        '| network | method | annotated images | dev metric | value |',
        '|---|---|---|---|---|',
        `| ${HUB_FIXTURE.via} | bd | 0 | error-rate | 6.25 % |`,
        '',
        `![loss](${HUB_FIXTURE.reportPicture})`,
        '',
      ].join('\n'),
      files: [{ name: HUB_FIXTURE.reportPicture, bytes: picture }],
    }),
  });
  await registry.attach(`${HUB_FIXTURE.via}@1.0.0`, {
    kind: HUB_FIXTURE.notes,
    bytes: new TextEncoder().encode(
      JSON.stringify({ method: 'bd', samples: 0, annotatedImages: 0, devErrorRate: 0.0625, seed: 1 }),
    ),
  });
  const links = [
    { category: 'cat-cls-features', task: 'cat-cls-head' },
    { category: 'cat-seg-features', task: 'cat-seg-head' },
    { category: category.name, task: task.name, adapter: HUB_FIXTURE.adapter },
  ];
  const id = linkId;
  const generic = {
    sources: { 'cat-cls-features': 'cat-cls@1.1.0', 'cat-seg-features': 'cat-seg@1.1.0' },
    metrics: Object.fromEntries(links.map((l, i) => [id(l), { name: 'error-rate', value: 0.03 + i / 100 }])),
    guard: {
      probe: { seed: 'generic-guard', count: 18 },
      backend: 'cpu',
      outputs: Object.fromEntries(links.map((l) => [id(l), digestOf(`guard ${id(l)}`)])),
    },
  };
  await publishNetworkFixture(
    registry,
    network(
      HUB_FIXTURE.generic,
      { links, generic },
      [
        await pin('cat-cls-features'),
        await pin('cat-cls-head'),
        category,
        await pin('cat-seg-head'),
        adapterPin,
      ],
      Object.entries(generic.metrics).map(([link, m]) => ({ ...m, on: `${link} (held-out)` })),
    ),
    empty,
  );
  return registry;
}

async function publishNetworkFixture(
  registry: Registry,
  manifest: Record<string, unknown>,
  weights: Uint8Array,
): Promise<void> {
  await registry.publish({
    manifest: {
      ...manifest,
      family: { name: 'composition', version: '1.0.0' },
      weights: { digest: sha256Digest(weights), size: weights.byteLength, tensors: 0, parameters: 0 },
    },
    weights,
  });
}

/** A copy of a folder (a registry) elsewhere. */
export const copyFolder = (from: string, to: string) => cp(from, to, { recursive: true });
