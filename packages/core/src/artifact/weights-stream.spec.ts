import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { isTransplantError } from '../errors';
import { sha256Digest } from './digest';
import { decodeWeights, encodeWeights, type NamedWeight } from './weights-codec';
import { weightsLayout, type StreamedWeight } from './weights-stream';

// The encoder the format was defined by (msgpackr, plain MessagePack): the oracle that the
// hand-written framing must reproduce byte for byte, so published digests never change.
const packr = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: true, variableMapSize: true });
function msgpackrEncode(tensors: readonly NamedWeight[], generatedBy: string): Uint8Array {
  const body = packr.pack(
    tensors.map((t) => ({
      name: t.name,
      dtype: t.dtype,
      shape: [...t.shape],
      data: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength),
    })),
  );
  return new Uint8Array(
    packr.pack({
      format: 'transplant.weights',
      formatVersion: 1,
      generatedBy,
      digest: sha256Digest(body),
      body,
    }),
  );
}

let seed = 7;
const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;

function tensor(name: string, shape: number[], dtype: NamedWeight['dtype'] = 'float32'): NamedWeight {
  const n = shape.reduce((a, b) => a * b, 1);
  const data =
    dtype === 'float32'
      ? Float32Array.from({ length: n }, random)
      : dtype === 'int32'
        ? Int32Array.from({ length: n }, () => Math.round(random() * 1e6))
        : Uint8Array.from({ length: n }, () => (random() > 0 ? 1 : 0));
  return { name, dtype, shape, data };
}

/** Every size boundary of the framing: string, array, map, uint and bin headers. */
const CASES: Record<string, () => NamedWeight[]> = {
  'names of 1, 31, 32, 255, 256 bytes and non-ASCII': () => [
    tensor('a', [1]),
    tensor('n'.repeat(31), [2]),
    tensor('n'.repeat(32), [2]),
    tensor('n'.repeat(255), [2]),
    tensor('n'.repeat(256), [2]),
    tensor('conv/ç/層', [3]),
  ],
  'dimensions 0, 127, 128, 255, 256, 65535, 65536': () => [
    tensor('empty', [0]),
    tensor('d127', [127]),
    tensor('d128', [128]),
    tensor('d255', [1, 255]),
    tensor('d256', [256, 1]),
    tensor('d65535', [65535]),
    tensor('d65536', [65536]),
  ],
  'data of 63, 64, 16383, 16384 elements (bin8/bin16/bin32 edges) and a scalar': () => [
    tensor('b63', [63]),
    tensor('b64', [64]),
    tensor('b16383', [16383]),
    tensor('b16384', [16384]),
    tensor('scalar', []),
  ],
  '16 and 17 tensors, int32 and bool, 15 and 16 dimensions': () => [
    ...Array.from({ length: 15 }, (_, i) => tensor(`t${i}`, [i + 1], i % 3 === 0 ? 'int32' : 'float32')),
    tensor('mask', [5], 'bool'),
    tensor('rank15', Array(15).fill(1)),
    tensor('rank16', Array(16).fill(1)),
  ],
  'no tensors': () => [],
};

describe('weights stream', () => {
  for (const [title, make] of Object.entries(CASES)) {
    it(`writes exactly the bytes msgpackr writes: ${title}`, () => {
      const tensors = make();
      const generatedBy = title.length % 2 ? 'transplant/0.1.0' : 'g'.repeat(40);
      const expected = msgpackrEncode(tensors, generatedBy);
      const blob = encodeWeights(tensors, { generatedBy });
      expect(sha256Digest(blob)).toBe(sha256Digest(expected));
      expect(Buffer.compare(blob, expected)).toBe(0);
      const layout = weightsLayout(
        tensors.map((t) => ({ ...t, data: () => [new Uint8Array(t.data.buffer)] })),
        { generatedBy },
      );
      expect({ size: layout.size, digest: layout.digest }).toEqual({
        size: expected.byteLength,
        digest: sha256Digest(expected),
      });
    });
  }

  it('streams data given in pieces of any size and the result decodes', () => {
    const big = tensor('w', [1000, 37]);
    const bytes = new Uint8Array(big.data.buffer);
    const streamed: StreamedWeight = {
      name: 'w',
      dtype: 'float32',
      shape: [1000, 37],
      *data() {
        for (let at = 0; at < bytes.byteLength; at += 4097) yield bytes.subarray(at, at + 4097);
      },
    };
    const layout = weightsLayout([streamed], { generatedBy: 'x' });
    const pieces = [...layout.pieces()];
    expect(pieces.length).toBeGreaterThan(30);
    const blob = Buffer.concat(pieces);
    expect(sha256Digest(blob)).toBe(layout.digest);
    expect(blob.equals(encodeWeights([big], { generatedBy: 'x' }))).toBe(true);
    expect(decodeWeights(blob).tensors[0]!.data).toEqual(big.data);
  });

  it('refuses data that does not fill the shape, and bad names, with a coded error', () => {
    const short: StreamedWeight = {
      name: 'w',
      dtype: 'float32',
      shape: [4],
      data: () => [new Uint8Array(12)],
    };
    const long: StreamedWeight = { ...short, data: () => [new Uint8Array(12), new Uint8Array(8)] };
    for (const bad of [[short], [long], [{ ...short, name: '' }], [short, short]]) {
      let error: unknown;
      try {
        weightsLayout(bad, { generatedBy: 'x' });
      } catch (e) {
        error = e;
      }
      expect(isTransplantError(error, 'E_ARTIFACT_INVALID_TENSOR')).toBe(true);
    }
  });
});
