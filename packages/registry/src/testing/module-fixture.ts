import { encodeWeights, sha256Digest, type ModuleKind } from '@transplant/core';

export interface FixtureOptions {
  readonly name: string;
  readonly version: string;
  readonly kind?: ModuleKind;
  readonly dependencies?: readonly Record<string, unknown>[];
  /** Makes the weights differ between fixtures. */
  readonly seed?: number;
  readonly values?: number;
}

const featureMap = {
  role: 'feature-map',
  dtype: 'float32',
  shape: [null, 8, 8, 16],
  channels: 16,
  stride: 8,
  values: 'non-negative',
};

/** A small, valid module (manifest + weights blob) for registry tests. */
export function moduleFixture(opts: FixtureOptions): {
  manifest: Record<string, unknown>;
  weights: Uint8Array;
} {
  const data = new Float32Array(opts.values ?? 64).map((_, i) => Math.sin(i + (opts.seed ?? 0)));
  const weights = encodeWeights([{ name: 'conv/kernel', dtype: 'float32', shape: [data.length], data }], {
    generatedBy: 'transplant/0.1.0',
  });
  const manifest = fixtureManifest(opts, {
    digest: sha256Digest(weights),
    size: weights.byteLength,
    tensors: 1,
    parameters: data.length,
  });
  return { manifest, weights };
}

/** The manifest of a fixture module whose weights blob is described by `weights`. */
export function fixtureManifest(
  opts: FixtureOptions,
  weights: { digest: string; size: number; tensors: number; parameters: number },
): Record<string, unknown> {
  const kind = opts.kind ?? 'category';
  const ports = {
    category: {
      input: {
        role: 'image',
        dtype: 'float32',
        shape: [null, 64, 64, 3],
        channels: 3,
        stride: 1,
        values: 'unit',
      },
      output: featureMap,
    },
    task: {
      input: featureMap,
      output: { role: 'logits', dtype: 'float32', shape: [null, 2], channels: 2, stride: 0, values: 'real' },
    },
    adapter: { input: featureMap, output: featureMap },
    network: {
      input: {
        role: 'image',
        dtype: 'float32',
        shape: [null, 64, 64, 3],
        channels: 3,
        stride: 1,
        values: 'unit',
      },
      output: { role: 'logits', dtype: 'float32', shape: [null, 2], channels: 2, stride: 0, values: 'real' },
    },
  }[kind];
  const manifest: Record<string, unknown> = {
    formatVersion: 1,
    generatedBy: 'transplant/0.1.0',
    kind,
    name: opts.name,
    version: opts.version,
    family: {
      name: { category: 'category-vgg', task: 'task-cls', adapter: 'adapter-conv', network: 'composition' }[
        kind
      ],
      version: '1.0.0',
    },
    options: {},
    ports,
    dependencies: opts.dependencies ?? [],
    weights,
    provenance: {
      data: 'test',
      seed: opts.seed ?? 0,
      steps: 0,
      backend: 'cpu',
      createdAt: '2026-11-25T00:00:00.000Z',
    },
    card: { metrics: [] },
  };
  if (kind === 'category') manifest['category'] = 'cat';
  if (kind === 'task') manifest['task'] = 'cls';
  return manifest;
}

/** An adapter pinned between the category module `cat-vgg` and the task module `animal-cls`. */
export function adapterFixture(pins: {
  category: { version: string; digest: string };
  task: { version: string; digest: string };
}) {
  return moduleFixture({
    name: 'cat-to-animal',
    version: '1.0.0',
    kind: 'adapter',
    dependencies: [
      { name: 'cat-vgg', kind: 'category', range: pins.category.version, pinned: pins.category },
      { name: 'animal-cls', kind: 'task', range: `^${pins.task.version.split('.')[0]}`, pinned: pins.task },
    ],
  });
}

/** An adapter pinned to modules no registry in the tests holds. */
export const orphanAdapterFixture = () =>
  adapterFixture({
    category: { version: '1.0.0', digest: `sha256:${'0'.repeat(64)}` },
    task: { version: '3.0.0', digest: `sha256:${'1'.repeat(64)}` },
  });
