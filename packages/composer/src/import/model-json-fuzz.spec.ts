import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '@transplant/core';
import { nested, outcomeOf, picker, seededRandom, slots, type Pick } from '@transplant/core/testing';
import { parseTopology } from './keras-topology';
import { MAX_WEIGHT_ELEMENTS, decodeWeightsManifest } from './model-weights';
import { residualFixture, writeModelFiles } from './testing/fixture-models';

/**
 * Hostile model.json files (issue 24, item 4): seeded random mutations of a real LayersModel's
 * topology and weights manifest, and of its weight file's length, must end in a decode that
 * fits the bytes given or a coded error — never another exception, a hang or a big allocation.
 */

const CASES = 10_000;

function hostile(pick: Pick): unknown {
  const values: (() => unknown)[] = [
    () => 2 ** 31,
    () => 2 ** 53,
    () => -1,
    () => 0.5,
    () => null,
    () => '',
    () => '../../etc/passwd',
    () => '/etc/passwd',
    () => 'x'.repeat(10_000),
    () => nested(1 + pick(200)),
    () => new Array(pick(10) === 0 ? 100_000 : pick(20)).fill(2),
    () => [2 ** 16, 2 ** 16, 2 ** 16],
    () => ({ dtype: ['uint8', 'uint16', 'float16', 'int8'][pick(4)], scale: 0.1, min: 0 }),
    () => ['float32', 'int32', 'bool', 'string', 'complex64'][pick(5)],
    () => ({}),
    () => true,
  ];
  return values[pick(values.length)]!();
}

function mutate(value: unknown, pick: Pick): unknown {
  const copy = structuredClone(value);
  const places = slots(copy);
  const rounds = 1 + pick(3);
  for (let r = 0; r < rounds && places.length > 0; r++) {
    const { holder, key } = places[pick(places.length)]!;
    // Removed as JSON can (an array element is spliced out: JSON never holds a hole).
    if (pick(6) === 0) {
      if (Array.isArray(holder)) holder.splice(Number(key), 1);
      else delete holder[key];
    } else holder[key] = hostile(pick);
  }
  return copy;
}

/** The weight file, cut short, extended or left as it is. */
function resize(bytes: Uint8Array, pick: Pick): Uint8Array {
  switch (pick(4)) {
    case 0:
      return bytes.slice(0, pick(bytes.length));
    case 1:
      return new Uint8Array(bytes.length + 1 + pick(64)).map((_, i) => bytes[i] ?? 0xff);
    default:
      return bytes;
  }
}

const coded = (run: () => void): string => outcomeOf(run, 'accepted');

describe('model.json reading under fuzzing', () => {
  let dir: string;
  let modelJson: { modelTopology: unknown; weightsManifest: { paths: string[] }[] };
  let weights: Uint8Array;
  beforeAll(async () => {
    await selectBackend({ requested: 'cpu', env: {} });
    dir = await mkdtemp(join(tmpdir(), 'transplant-fuzz-'));
    const model = residualFixture();
    const path = await writeModelFiles(model, join(dir, 'residual'), 'keras');
    model.dispose();
    modelJson = JSON.parse(await readFile(path, 'utf8')) as typeof modelJson;
    weights = new Uint8Array(await readFile(join(dir, 'residual', modelJson.weightsManifest[0]!.paths[0]!)));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it(`decodes or refuses with a code ${CASES} mutated topologies, weight manifests and weight files`, () => {
    const next = seededRandom(0x24_04_03);
    const pick = picker(next);
    const seen = new Map<string, number>();
    const file = modelJson.weightsManifest[0]!.paths[0]!;
    for (let i = 0; i < CASES; i++) {
      let result: string;
      try {
        if (i % 2 === 0) {
          const mutated = mutate(modelJson, pick);
          result = coded(() => void parseTopology(mutated, 'fuzz'));
        } else {
          const manifest =
            pick(4) === 0 ? modelJson.weightsManifest : mutate(modelJson.weightsManifest, pick);
          const bytes = resize(weights, pick);
          result = coded(() => {
            const decoded = decodeWeightsManifest(manifest, new Map([[file, bytes]]), 'fuzz');
            // The allocation guard: what decodes is bounded by the bytes given.
            const elements = decoded.reduce((n, w) => n + w.data.length, 0);
            expect(elements).toBeLessThanOrEqual(Math.min(bytes.byteLength, MAX_WEIGHT_ELEMENTS));
            for (const w of decoded) expect(w.data.length).toBe(w.shape.reduce((n, d) => n * d, 1));
          });
        }
      } catch (error) {
        throw new Error(`case ${i}: ${error instanceof Error ? error.stack : String(error)}`);
      }
      seen.set(result, (seen.get(result) ?? 0) + 1);
    }
    expect(seen.get('accepted')).toBeGreaterThan(0);
    expect([...seen.keys()].filter((k) => !['accepted'].includes(k) && !k.startsWith('E_IMPORT_'))).toEqual(
      [],
    );
  });
});
