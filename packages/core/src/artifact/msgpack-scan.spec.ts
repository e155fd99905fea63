import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { TransplantError } from '../errors';
import { sha256Digest } from './digest';
import { scanMsgpack } from './msgpack-scan';
import { MAX_MSGPACK_DEPTH, decodeWeights, encodeWeights } from './weights-codec';

/**
 * The MessagePack nesting and length limits (issue 24, item 4): hostile structure is refused by
 * the bounded pre-scan, before msgpackr allocates or recurses — not by catching its RangeError.
 */

const packr = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: true, variableMapSize: true });
const limits = { maxDepth: MAX_MSGPACK_DEPTH };

/** A weights blob around `body`, with a matching digest: the tensor list itself is hostile. */
const blobAround = (body: Uint8Array) =>
  packr.pack({
    format: 'transplant.weights',
    formatVersion: 1,
    generatedBy: 'test',
    digest: sha256Digest(body),
    body,
  }) as Uint8Array;

/** The decode's error, its time, and whether the pre-scan (no cause) refused it. */
function refusal(blob: Uint8Array): { code: string; ms: number; scanned: boolean; message: string } {
  const start = performance.now();
  try {
    decodeWeights(blob);
  } catch (error) {
    const ms = performance.now() - start;
    if (!(error instanceof TransplantError)) throw error;
    return {
      code: error.code,
      ms,
      // The decoder's own failures (RangeError included) are wrapped with their cause.
      scanned: error.cause === undefined && /not sound MessagePack/.test(error.message),
      message: error.message,
    };
  }
  throw new Error('expected a refusal');
}

describe('MessagePack pre-scan', () => {
  it('passes every value the weights format writes, and what msgpackr writes for plain data', () => {
    const blob = encodeWeights(
      [{ name: 'w', dtype: 'float32', shape: [2, 3], data: new Float32Array(6).fill(1.5) }],
      { generatedBy: 'test' },
    );
    expect(scanMsgpack(blob, limits)).toBeUndefined();
    const body = (packr.unpack(blob) as { body: Uint8Array }).body;
    expect(scanMsgpack(body, limits)).toBeUndefined();
    const plain = {
      a: [null, true, false, 0, -1, -33, 127, 128, 70_000, 2 ** 40, -(2 ** 40), 1.5, Math.PI],
      s: ['', 'x'.repeat(31), 'y'.repeat(300), 'z'.repeat(70_000)],
      b: [new Uint8Array(0), new Uint8Array(300), new Uint8Array(70_000)],
      m: Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, new Array(20).fill(i)])),
      l: new Array(70_000).fill(1),
    };
    expect(scanMsgpack(packr.pack(plain) as Uint8Array, limits)).toBeUndefined();
  });

  it('refuses truncation, trailing bytes, extension types and 0xc1', () => {
    const bytes = packr.pack({ a: [1, 2, 3], b: 'text' }) as Uint8Array;
    for (let n = 0; n < bytes.length; n++) expect(scanMsgpack(bytes.subarray(0, n), limits)).toBeDefined();
    expect(scanMsgpack(Uint8Array.from([...bytes, 0]), limits)).toMatch(/1 bytes follow/);
    expect(scanMsgpack(Uint8Array.from([0xd6, 0xff, 0, 0, 0, 1]), limits)).toMatch(/type 0xd6/);
    expect(scanMsgpack(Uint8Array.from([0xc7, 1, 5, 0]), limits)).toMatch(/type 0xc7/);
    expect(scanMsgpack(Uint8Array.from([0x91, 0xc1]), limits)).toMatch(/type 0xc1/);
  });

  it('refuses nesting deeper than the limit, and passes it at the limit', () => {
    const deep = (n: number) => Uint8Array.from([...new Array<number>(n).fill(0x91), 0xc0]);
    expect(scanMsgpack(deep(MAX_MSGPACK_DEPTH), limits)).toBeUndefined();
    expect(scanMsgpack(deep(MAX_MSGPACK_DEPTH + 1), limits)).toMatch(/more than 32 deep/);
  });

  it('refuses a 10⁵-deep nesting in a blob fast, in the pre-scan', () => {
    // Arrays and maps alternately ({"k": [{"k": [ … ]}]}), 10⁵ deep, under a valid digest.
    const depth = 100_000;
    const open = [0x91, 0x81, 0xa1, 0x6b];
    const body = new Uint8Array(depth * 2 + 1);
    let at = 0;
    for (let i = 0; i < depth; i++)
      if (i % 2 === 0) body[at++] = open[0]!;
      else for (const b of open.slice(1)) body[at++] = b;
    const nested = body.subarray(0, at + 1);
    nested[at] = 0xc0;
    for (const blob of [nested, blobAround(nested)]) {
      const r = refusal(blob);
      expect(r).toMatchObject({ code: 'E_ARTIFACT_CORRUPT', scanned: true });
      expect(r.message).toMatch(/deep/);
      expect(r.ms).toBeLessThan(50);
    }
  });

  it('refuses huge declared arrays, maps, strings and binaries fast, with nothing allocated', () => {
    const heads = [
      [0xdd, 0xff, 0xff, 0xff, 0xff], // array 32: 2³² − 1 items
      [0xdf, 0x80, 0x00, 0x00, 0x00], // map 32: 2³¹ entries
      [0xdb, 0xff, 0xff, 0xff, 0xf0], // str 32
      [0xc6, 0x7f, 0xff, 0xff, 0xff], // bin 32
      [0xdc, 0xff, 0xff], // array 16
    ];
    for (const head of heads) {
      const hostile = Uint8Array.from([0x91, ...head, 0, 0, 0]);
      for (const blob of [hostile, blobAround(hostile)]) {
        const before = process.memoryUsage().arrayBuffers;
        const r = refusal(blob);
        expect(r).toMatchObject({ code: 'E_ARTIFACT_CORRUPT', scanned: true });
        expect(r.message).toMatch(/declares/);
        expect(r.ms).toBeLessThan(20);
        expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(1 << 20);
      }
    }
  });
});
