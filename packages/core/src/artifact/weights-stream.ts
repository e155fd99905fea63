import { createHash, type Hash } from 'node:crypto';
import { TransplantError } from '../errors';
import {
  WEIGHTS_FORMAT,
  WEIGHTS_FORMAT_VERSION,
  WEIGHT_DTYPES,
  elementCount,
  type WeightDtype,
} from './weights-format';

/**
 * The weights format (weights-codec.ts) written as a stream of pieces instead of one packed
 * buffer, so that a blob of any size is sized, hashed and written without being held whole:
 * the framing is written by hand and the tensor data are passed through as views. The bytes
 * are exactly those `encodeWeights` has always produced (the smallest MessagePack encoding of
 * each value, keys in the same order); a test holds the two byte for byte.
 */

/** A tensor for the stream: its data as pieces in order (generated, read or viewed on demand). */
export interface StreamedWeight {
  readonly name: string;
  readonly dtype: WeightDtype;
  readonly shape: readonly number[];
  /** The little-endian element bytes, in pieces; may be called once per pass (three passes). */
  data(): Iterable<Uint8Array>;
}

export interface WeightsLayout {
  /** The blob's size in bytes. */
  readonly size: number;
  /** The blob's sha256 (its content address in a registry). */
  readonly digest: string;
  /** The blob's bytes, in pieces (views of the tensors' data between small framing pieces). */
  pieces(): Iterable<Uint8Array>;
}

const utf8 = new TextEncoder();

function invalid(detail: string): TransplantError {
  return new TransplantError('E_ARTIFACT_INVALID_TENSOR', detail, { operation: 'encodeWeights' });
}

/** MessagePack framing, smallest encoding first (what msgpackr writes for these values). */
class Framing {
  private readonly bytes: number[] = [];

  u8(...values: number[]): this {
    this.bytes.push(...values);
    return this;
  }

  private be(value: number, width: 2 | 4): this {
    for (let shift = (width - 1) * 8; shift >= 0; shift -= 8)
      this.bytes.push(Math.floor(value / 2 ** shift) % 256);
    return this;
  }

  map(n: number): this {
    return n < 0x10 ? this.u8(0x80 | n) : n < 0x10000 ? this.u8(0xde).be(n, 2) : this.u8(0xdf).be(n, 4);
  }

  array(n: number): this {
    return n < 0x10 ? this.u8(0x90 | n) : n < 0x10000 ? this.u8(0xdc).be(n, 2) : this.u8(0xdd).be(n, 4);
  }

  uint(n: number): this {
    if (!Number.isInteger(n) || n < 0 || n > 0xffffffff)
      throw invalid(`${n} is not a dimension this format stores`);
    return n < 0x80
      ? this.u8(n)
      : n < 0x100
        ? this.u8(0xcc, n)
        : n < 0x10000
          ? this.u8(0xcd).be(n, 2)
          : this.u8(0xce).be(n, 4);
  }

  str(s: string): this {
    const b = utf8.encode(s);
    const n = b.byteLength;
    if (n < 0x20) this.u8(0xa0 | n);
    else if (n < 0x100) this.u8(0xd9, n);
    else if (n < 0x10000) this.u8(0xda).be(n, 2);
    else this.u8(0xdb).be(n, 4);
    for (const byte of b) this.bytes.push(byte);
    return this;
  }

  /** The header of a bin of n bytes (the bytes follow as their own pieces). */
  bin(n: number): this {
    if (n > 0xffffffff) throw invalid(`${n} bytes do not fit one MessagePack bin (4 GiB at most)`);
    return n < 0x100 ? this.u8(0xc4, n) : n < 0x10000 ? this.u8(0xc5).be(n, 2) : this.u8(0xc6).be(n, 4);
  }

  done(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

function* bodyPieces(tensors: readonly StreamedWeight[]): Iterable<Uint8Array> {
  yield new Framing().array(tensors.length).done();
  for (const t of tensors) {
    const bytes = elementCount(t.shape)! * WEIGHT_DTYPES[t.dtype].bytes;
    const head = new Framing().map(4).str('name').str(t.name).str('dtype').str(t.dtype).str('shape');
    head.array(t.shape.length);
    for (const d of t.shape) head.uint(d);
    yield head.str('data').bin(bytes).done();
    let seen = 0;
    for (const piece of t.data()) {
      seen += piece.byteLength;
      if (seen > bytes) break;
      yield piece;
    }
    if (seen !== bytes) throw invalid(`"${t.name}" gave ${seen} data bytes; its shape needs ${bytes}`);
  }
}

function feed(hash: Hash, pieces: Iterable<Uint8Array>): number {
  let size = 0;
  for (const piece of pieces) {
    hash.update(piece);
    size += piece.byteLength;
  }
  return size;
}

/**
 * Lays out a weights blob: its size and the body's sha256 are computed here (one pass over the
 * data, hashing only); the blob's sha256 on first use of `digest` (another); `pieces()` yields
 * the bytes. Names, dtypes and shapes are
 * checked as by `encodeWeights`.
 */
export function weightsLayout(
  tensors: readonly StreamedWeight[],
  options: { generatedBy: string },
): WeightsLayout {
  const seen = new Set<string>();
  for (const t of tensors) {
    if (typeof t.name !== 'string' || t.name.length === 0) throw invalid('a tensor has an empty name');
    if (seen.has(t.name)) throw invalid(`tensor name "${t.name}" is used twice`);
    seen.add(t.name);
    if (!Object.hasOwn(WEIGHT_DTYPES, t.dtype)) throw invalid(`"${t.name}" has dtype ${String(t.dtype)}`);
    if (elementCount(t.shape) === undefined) throw invalid(`"${t.name}" has shape [${t.shape.join(', ')}]`);
  }
  const bodyHash = createHash('sha256');
  const bodySize = feed(bodyHash, bodyPieces(tensors));
  const header = new Framing()
    .map(5)
    .str('format')
    .str(WEIGHTS_FORMAT)
    .str('formatVersion')
    .uint(WEIGHTS_FORMAT_VERSION)
    .str('generatedBy')
    .str(options.generatedBy)
    .str('digest')
    .str(`sha256:${bodyHash.digest('hex')}`)
    .str('body')
    .bin(bodySize)
    .done();
  function* pieces(): Iterable<Uint8Array> {
    yield header;
    yield* bodyPieces(tensors);
  }
  let digest: string | undefined;
  return {
    size: header.byteLength + bodySize,
    // Hashed on first use, a pass over the data that encodeWeights never needs.
    get digest() {
      if (digest === undefined) {
        const hash = createHash('sha256');
        feed(hash, pieces());
        digest = `sha256:${hash.digest('hex')}`;
      }
      return digest;
    },
    pieces,
  };
}
