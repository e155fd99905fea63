import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTransplantError, selectBackend } from '@transplant/core';
import { nested } from '@transplant/core/testing';
import { parseGraphModel } from './import-graph-model';
import { MAX_JSON_DEPTH, assertJsonValue } from './json-value';
import { parseTopology } from './keras-topology';
import { decodeWeightsManifest, readModelFiles } from './model-weights';
import { sequentialFixture, writeModelFiles } from './testing/fixture-models';

/** The code (or the constructor name of an uncoded error) a call ends in. */
async function outcome(run: () => unknown): Promise<string> {
  try {
    await run();
    return 'accepted';
  } catch (error) {
    return isTransplantError(error) ? error.code : `uncoded ${(error as Error).constructor.name}`;
  }
}

/** JSON text nested `depth` deep, built without recursion. */
const deepText = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

describe('model.json values that no reader may recurse into', () => {
  let dir: string;
  let json: { modelTopology: { config: { layers: unknown[] } }; weightsManifest: { weights: unknown[] }[] };
  beforeAll(async () => {
    await selectBackend({ requested: 'cpu', env: {} });
    dir = await mkdtemp(join(tmpdir(), 'transplant-json-value-'));
    const model = sequentialFixture();
    const path = await writeModelFiles(model, join(dir, 'seq'));
    model.dispose();
    json = JSON.parse(await readFile(path, 'utf8')) as typeof json;
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const withLayers = (layers: unknown[]) => ({
    ...json,
    modelTopology: { ...json.modelTopology, config: { ...json.modelTopology.config, layers } },
  });

  it('parseTopology: a sparse layer list is a coded error, not a TypeError', async () => {
    const layers = [...json.modelTopology.config.layers];
    const sparse = new Array<unknown>(layers.length + 1);
    layers.forEach((l, i) => (sparse[i === 0 ? 0 : i + 1] = l));
    expect(1 in sparse).toBe(false);
    expect(await outcome(() => parseTopology(withLayers(sparse), 's'))).toBe('E_IMPORT_MODEL');
    // Holes deeper down (a layer's config value) too.
    const hole = new Array<unknown>(2);
    hole[1] = 3;
    const holed = structuredClone(json) as unknown as { modelTopology: { config: { layers: unknown[] } } };
    (holed.modelTopology.config.layers[1] as { config: Record<string, unknown> }).config['units'] = hole;
    expect(await outcome(() => parseTopology(holed, 's'))).toBe('E_IMPORT_MODEL');
    expect(await outcome(() => parseTopology(json, 's'))).toBe('accepted');
  });

  it('parseTopology: cyclic, bigint and class-instance values are coded errors', async () => {
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = [cyclic];
    for (const value of [cyclic, 10n, new Date(0), () => 1]) {
      const layers = [
        ...json.modelTopology.config.layers,
        { class_name: 'Dense', config: { name: 'x', value } },
      ];
      expect(await outcome(() => parseTopology(withLayers(layers), 's'))).toBe('E_IMPORT_MODEL');
    }
    // A huge sparse array is refused at its first hole, not walked.
    const start = performance.now();
    expect(() => assertJsonValue({ a: [1, new Array(2 ** 32 - 1)] }, 's', 'x', 'test')).toThrow(/holes/);
    expect(performance.now() - start).toBeLessThan(100);
    // A shared (not cyclic) value is fine: it is walked once.
    const shared = { units: 2 };
    expect(() => assertJsonValue([shared, shared, [shared]], 's', 'x', 'test')).not.toThrow();
  });

  it('parseTopology, the manifest and the graph reader refuse 10⁵-deep nesting parsed from a file', async () => {
    const deep = JSON.parse(deepText(100_000)) as unknown;
    const layers = [...json.modelTopology.config.layers.slice(0, 1), deep];
    expect(await outcome(() => parseTopology(withLayers(layers), 's'))).toBe('E_IMPORT_MODEL');
    const manifest = structuredClone(json.weightsManifest);
    (manifest[0]!.weights[0] as { shape: unknown }).shape = [deep];
    expect(await outcome(() => decodeWeightsManifest(manifest, new Map(), 's'))).toBe('E_IMPORT_MODEL');
    const graph = {
      source: 'g',
      modelJson: { modelTopology: { node: [{ name: 'a', op: 'Placeholder', attr: deep }] } },
      weights: [],
      stored: { specs: [], data: new ArrayBuffer(0) },
    };
    expect(await outcome(() => parseGraphModel(graph))).toBe('E_IMPORT_MODEL');
    // At the limit it is read (and refused for what it is, or accepted).
    expect(() => assertJsonValue(nested(MAX_JSON_DEPTH - 1), 's', 'x', 'test')).not.toThrow();
    expect(() => assertJsonValue(nested(MAX_JSON_DEPTH + 1), 's', 'x', 'test')).toThrow(/nests more than/);
  });

  it('readModelFiles refuses a model.json whose manifest nests 10⁵ deep, fast', async () => {
    const text = JSON.stringify({
      ...json,
      weightsManifest: [{ paths: [], weights: [{ name: 'w', shape: [0] }] }],
    });
    const path = join(dir, 'deep.json');
    await writeFile(path, text.replace('"shape":[0]', `"shape":[${deepText(100_000)}]`));
    const start = performance.now();
    expect(await outcome(() => readModelFiles(path))).toBe('E_IMPORT_MODEL');
    expect(performance.now() - start).toBeLessThan(1_000);
  });

  it('parseGraphModel refuses a model.json that is no GraphModel with a code', async () => {
    const files = {
      source: 'g',
      modelJson: json,
      weights: [],
      stored: { specs: [], data: new ArrayBuffer(0) },
    };
    expect(await outcome(() => parseGraphModel(files))).toBe('E_IMPORT_MODEL');
  });
});
