import { encode } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { isTransplantError, type ErrorCode } from '../errors';
import { sha256Digest, assertDigest } from './digest';
import { decodeWeights, encodeWeights, type NamedWeight } from './weights-codec';

const GEN = { generatedBy: 'transplant/0.1.0' };

function sample(): NamedWeight[] {
  const special = new Float32Array([0, -0, NaN, Infinity, -Infinity, 1e-45, 3.4028235e38, Math.PI]);
  // A NaN with a non-default payload must survive too.
  new DataView(special.buffer).setUint32(2 * 4, 0x7fc01234, true);
  return [
    { name: 'block1/conv1/kernel', dtype: 'float32', shape: [2, 2, 2, 1], data: special },
    { name: 'block1/conv1/bias', dtype: 'float32', shape: [0], data: new Float32Array(0) },
    { name: 'step', dtype: 'int32', shape: [], data: new Int32Array([-7]) },
    { name: 'mask', dtype: 'bool', shape: [3], data: new Uint8Array([1, 0, 1]) },
  ];
}

function codeOf(fn: () => unknown): ErrorCode | 'no error' | 'uncoded' {
  try {
    fn();
    return 'no error';
  } catch (error) {
    return isTransplantError(error) ? error.code : 'uncoded';
  }
}

describe('weights codec', () => {
  it('round-trips names, shapes, dtypes and bits exactly', () => {
    const blob = encodeWeights(sample(), GEN);
    const decoded = decodeWeights(blob);
    expect(decoded.generatedBy).toBe('transplant/0.1.0');
    expect(decoded.tensors.map((t) => [t.name, t.dtype, t.shape])).toEqual(
      sample().map((t) => [t.name, t.dtype, t.shape]),
    );
    decoded.tensors.forEach((t, i) => {
      const original = sample()[i]!;
      expect(t.data.constructor).toBe(original.data.constructor);
      expect(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength)).toEqual(
        Buffer.from(original.data.buffer, original.data.byteOffset, original.data.byteLength),
      );
    });
  });

  it('is deterministic, so equal weights have equal digests', () => {
    expect(sha256Digest(encodeWeights(sample(), GEN))).toBe(sha256Digest(encodeWeights(sample(), GEN)));
  });

  it('detects every truncation with a coded error', () => {
    const blob = encodeWeights(sample(), GEN);
    for (let n = 0; n < blob.length; n++) {
      expect(codeOf(() => decodeWeights(blob.subarray(0, n)))).toMatch(/^E_ARTIFACT_(CORRUPT|FOREIGN)$/);
    }
  });

  it('detects a flipped bit anywhere in the blob', () => {
    const blob = encodeWeights(sample(), GEN);
    for (let i = 0; i < blob.length; i++) {
      for (const bit of [0x01, 0x80]) {
        const damaged = Uint8Array.from(blob);
        damaged[i] = damaged[i]! ^ bit;
        const code = codeOf(() => decodeWeights(damaged));
        // A flip inside `generatedBy` changes only that label; every other flip is refused.
        if (code === 'no error') {
          expect(decodeWeights(damaged).generatedBy).not.toBe(GEN.generatedBy);
        } else {
          expect(code).toMatch(/^E_ARTIFACT_(CORRUPT|FOREIGN|VERSION)$/);
        }
      }
    }
  });

  it('refuses foreign data and newer formats with their own codes', () => {
    expect(codeOf(() => decodeWeights(new TextEncoder().encode('{"not":"weights"}')))).toBe(
      'E_ARTIFACT_CORRUPT',
    );
    expect(codeOf(() => decodeWeights(encode({ format: 'other', body: new Uint8Array(1) })))).toBe(
      'E_ARTIFACT_FOREIGN',
    );
    expect(codeOf(() => decodeWeights(encode([1, 2, 3])))).toBe('E_ARTIFACT_FOREIGN');
    expect(codeOf(() => decodeWeights(encode({ format: 'transplant.weights', formatVersion: 99 })))).toBe(
      'E_ARTIFACT_VERSION',
    );
    expect(codeOf(() => decodeWeights(new Uint8Array(0)))).toBe('E_ARTIFACT_CORRUPT');
  });

  it('refuses tensors it cannot store faithfully', () => {
    const base = sample()[0]!;
    expect(codeOf(() => encodeWeights([base, base], GEN))).toBe('E_ARTIFACT_INVALID_TENSOR');
    expect(codeOf(() => encodeWeights([{ ...base, shape: [3] }], GEN))).toBe('E_ARTIFACT_INVALID_TENSOR');
    expect(codeOf(() => encodeWeights([{ ...base, name: '' }], GEN))).toBe('E_ARTIFACT_INVALID_TENSOR');
    expect(codeOf(() => encodeWeights([{ ...base, dtype: 'int32' }], GEN))).toBe('E_ARTIFACT_INVALID_TENSOR');
    expect(codeOf(() => encodeWeights([{ ...base, shape: [2.5, 2, 2, 1] }], GEN))).toBe(
      'E_ARTIFACT_INVALID_TENSOR',
    );
  });

  it('checks a blob against a digest', () => {
    const blob = encodeWeights(sample(), GEN);
    expect(() => assertDigest(blob, sha256Digest(blob))).not.toThrow();
    expect(codeOf(() => assertDigest(blob, `sha256:${'0'.repeat(64)}`))).toBe('E_DIGEST_MISMATCH');
  });
});
