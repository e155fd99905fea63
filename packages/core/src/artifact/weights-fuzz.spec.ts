import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { outcomeOf, picker, seededRandom } from '../testing/fuzz';
import { sha256Digest } from './digest';
import { decodeWeights, encodeWeights, type NamedWeight, type WeightsArtifact } from './weights-codec';
import { WEIGHT_DTYPES, elementCount } from './weights-format';

/**
 * Hostile weights blobs (issue 24, item 4): seeded random mutations of real blobs must end in a
 * correct decode or a coded TransplantError — never another exception, a hang or a big allocation.
 */

const CASES = 12_000;
const packr = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: true, variableMapSize: true });

function tensors(): NamedWeight[] {
  return [
    {
      name: 'conv/kernel',
      dtype: 'float32',
      shape: [3, 3, 2, 4],
      data: new Float32Array(72).map((_, i) => i / 7),
    },
    { name: 'conv/bias', dtype: 'float32', shape: [4], data: new Float32Array([0, -0, NaN, 1e-45]) },
    { name: 'step', dtype: 'int32', shape: [], data: new Int32Array([-7]) },
    { name: 'mask', dtype: 'bool', shape: [2, 3], data: new Uint8Array([1, 0, 1, 1, 0, 0]) },
    { name: 'empty', dtype: 'float32', shape: [0, 5], data: new Float32Array(0) },
  ];
}

const BLOB = encodeWeights(tensors(), { generatedBy: 'transplant/fuzz' });
const BODY = (packr.unpack(BLOB) as { body: Uint8Array }).body;

/** MessagePack type bytes worth landing on: length-prefixed types, nil, never-used, fix ranges. */
const BOUNDARY = [0x00, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc4, 0xc5, 0xc6, 0xc9, 0xd9];
const BOUNDARY2 = [0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xff, 0xd4, 0xd8, 0xc7, 0xcb, 0xcf, 0xd3];
const BOUNDARIES = [...BOUNDARY, ...BOUNDARY2];
const LENGTH_TYPES = new Set([0xc4, 0xc5, 0xc6, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf]);

function mutate(bytes: Uint8Array, next: () => number): Uint8Array {
  const pick = picker(next);
  let out: Uint8Array = Uint8Array.from(bytes);
  const rounds = 1 + pick(3);
  for (let r = 0; r < rounds; r++) {
    const at = pick(out.length + 1);
    switch (pick(9)) {
      case 0: // bit flip
        if (out.length > 0) out[Math.min(at, out.length - 1)]! ^= 1 << pick(8);
        break;
      case 1: // boundary byte
        if (out.length > 0) out[Math.min(at, out.length - 1)] = BOUNDARIES[pick(BOUNDARIES.length)]!;
        break;
      case 2: // truncation
        out = out.slice(0, at);
        break;
      case 3: {
        // extension: zeros, 0xff or random bytes
        const extra = new Uint8Array(1 + pick(64)).map(() => [0, 0xff, pick(256)][pick(3)]!);
        out = concat(out, extra);
        break;
      }
      case 4: {
        // splice: a slice of the blob copied in somewhere else
        const from = pick(out.length + 1);
        const piece = out.slice(from, from + pick(48));
        out = concat(out.slice(0, at), piece, out.slice(at));
        break;
      }
      case 5: {
        // a length field (of a bin, str, array or map) set to a huge or off-by-one value
        const fields = [...out.keys()].filter((i) => LENGTH_TYPES.has(out[i]!));
        if (fields.length === 0) break;
        const i = fields[pick(fields.length)]!;
        const width = [0xc4, 0xd9].includes(out[i]!) ? 1 : [0xc5, 0xda, 0xdc, 0xde].includes(out[i]!) ? 2 : 4;
        for (let k = 1; k <= width && i + k < out.length; k++) {
          out[i + k] = [0xff, 0x7f, 0x00, (out[i + k]! + 1) & 0xff, (out[i + k]! - 1) & 0xff][pick(5)]!;
        }
        break;
      }
      case 6: {
        // deep nesting: up to 10⁵ one-element arrays or maps
        const depth = next() < 0.02 ? 100_000 : 1 + pick(2_000);
        const open = pick(2) === 0 ? [0x91] : [0x81, 0xa1, 0x6b];
        const nest = new Uint8Array(depth * open.length).map((_, k) => open[k % open.length]!);
        out = concat(out.slice(0, at), nest, out.slice(at));
        break;
      }
      case 7: {
        // a huge declared array, map, str or bin with nothing behind it
        const head = [0xdd, 0xdf, 0xdb, 0xc6, 0xc9][pick(5)]!;
        out = concat(out.slice(0, at), Uint8Array.from([head, 0xff, 0xff, 0xff, pick(256)]), out.slice(at));
        break;
      }
      default: // random byte
        if (out.length > 0) out[Math.min(at, out.length - 1)] = pick(256);
    }
  }
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/** A blob around a (mutated) body with a matching digest, so that the tensor list itself is fuzzed. */
function envelope(body: Uint8Array): Uint8Array {
  return packr.pack({
    format: 'transplant.weights',
    formatVersion: 1,
    generatedBy: 'transplant/fuzz',
    digest: sha256Digest(body),
    body,
  }) as Uint8Array;
}

/** A decode that succeeded must match an independent read of the same bytes, within the bytes given. */
function checkDecode(blob: Uint8Array, decoded: WeightsArtifact): void {
  const reference = packr.unpack(packr.unpack(blob).body as Uint8Array) as Record<string, unknown>[];
  expect(decoded.tensors).toHaveLength(reference.length);
  let bytes = 0;
  decoded.tensors.forEach((t, i) => {
    const ref = reference[i]!;
    expect([t.name, t.dtype, t.shape]).toEqual([ref['name'], ref['dtype'], ref['shape']]);
    expect(t.data.length).toBe(elementCount(t.shape));
    expect(t.data.byteLength).toBe(t.data.length * WEIGHT_DTYPES[t.dtype].bytes);
    expect(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength)).toEqual(
      Buffer.from(ref['data'] as Uint8Array),
    );
    bytes += t.data.byteLength;
  });
  // The allocation guard: decoded tensors never hold more bytes than the blob.
  expect(bytes).toBeLessThanOrEqual(blob.byteLength);
}

function outcome(blob: Uint8Array): 'decoded' | string {
  return outcomeOf(() => checkDecode(blob, decodeWeights(blob)), 'decoded');
}

describe('weights decoder under fuzzing', () => {
  it(`gives a correct decode or a coded error for ${CASES} mutated blobs and bodies`, () => {
    const next = seededRandom(0x24_04);
    const seen = new Map<string, number>();
    for (let i = 0; i < CASES; i++) {
      // Half mutate the whole blob (the digest catches most), half the body under a fresh digest.
      const blob = i % 2 === 0 ? mutate(BLOB, next) : envelope(mutate(BODY, next));
      let result: string;
      try {
        result = outcome(blob);
      } catch (error) {
        throw new Error(`case ${i}: ${error instanceof Error ? error.stack : String(error)}`);
      }
      seen.set(result, (seen.get(result) ?? 0) + 1);
    }
    // Both paths are exercised: some mutations still decode (e.g. a changed value), most are refused.
    expect(seen.get('decoded')).toBeGreaterThan(0);
    expect(seen.get('E_ARTIFACT_CORRUPT')).toBeGreaterThan(CASES / 4);
    expect([...seen.keys()].filter((k) => k !== 'decoded' && !k.startsWith('E_ARTIFACT_'))).toEqual([]);
  });
});
