import type { ModuleManifestDto } from './manifest.dto';

const DIGEST = `sha256:${'ab'.repeat(32)}`;

/** A valid manifest of each kind, as plain JSON, for tests to break one field at a time. */
export function manifestFixture(kind: 'category' | 'task' | 'adapter'): Record<string, unknown> {
  const featureMap = {
    role: 'feature-map',
    dtype: 'float32',
    shape: [null, 8, 8, 64],
    channels: 64,
    stride: 8,
    values: 'non-negative',
  };
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
  }[kind];
  const base: Partial<Record<keyof ModuleManifestDto, unknown>> = {
    formatVersion: 1,
    generatedBy: 'transplant/0.1.0',
    kind,
    name: `cat-${kind}`,
    version: '1.0.0',
    family: {
      name: kind === 'category' ? 'category-vgg' : kind === 'task' ? 'task-cls' : 'adapter-conv',
      version: '1.0.0',
    },
    options: { blocks: 3 },
    ports,
    dependencies: [],
    weights: { digest: DIGEST, size: 1024, tensors: 4, parameters: 250 },
    provenance: {
      data: 'synthetic:v1 cat seed=7 n=2000',
      seed: 7,
      steps: 500,
      backend: 'wasm',
      createdAt: '2026-11-25T12:00:00.000Z',
    },
    card: { metrics: [{ name: 'error-rate', value: 0.08, on: 'synthetic:v1 cat test n=500' }] },
  };
  if (kind === 'category') base.category = 'cat';
  if (kind === 'task') base.task = 'cls';
  if (kind === 'adapter') {
    base.dependencies = [
      { name: 'cat-vgg', kind: 'category', range: '1.0.0', pinned: { version: '1.0.0', digest: DIGEST } },
      { name: 'animal-cls', kind: 'task', range: '^2.1.0', pinned: { version: '2.1.3', digest: DIGEST } },
    ];
  }
  return base;
}
