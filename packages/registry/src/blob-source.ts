import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { TransplantError } from '@transplant/core';

/**
 * Bytes that can be read in chunks, from the start or from any offset, as often as needed:
 * a blob on its way into or out of a store without ever being held whole. A 528 MB module is
 * published, copied and verified in O(chunk) memory through this.
 */
export interface BlobSource {
  readonly size: number;
  /** The bytes from offset `from` (default 0) to the end, in order. */
  chunks(from?: number): AsyncIterable<Uint8Array>;
}

/** How much a source reads or sends at a time (8 MiB: large enough for full-speed disk I/O). */
export const CHUNK_BYTES = 8 * 1024 * 1024;

export function isBlobSource(value: Uint8Array | BlobSource): value is BlobSource {
  return !(value instanceof Uint8Array);
}

/** A source over bytes already in memory (views, no copies). */
export function bytesSource(bytes: Uint8Array, chunkBytes = CHUNK_BYTES): BlobSource {
  return {
    size: bytes.byteLength,
    async *chunks(from = 0) {
      for (let at = from; at < bytes.byteLength; at += chunkBytes)
        yield bytes.subarray(at, Math.min(at + chunkBytes, bytes.byteLength));
    },
  };
}

/**
 * A source over a file of known size. A file that cannot be read is E_DATA_MISSING_FILE; one
 * that changed size while it was read is E_DIGEST_MISMATCH (it is not the file that was sized).
 */
export function fileSource(path: string, size: number, chunkBytes = CHUNK_BYTES): BlobSource {
  return {
    size,
    async *chunks(from = 0) {
      if (from >= size) return;
      let read = from;
      try {
        for await (const chunk of createReadStream(path, { start: from, highWaterMark: chunkBytes })) {
          const bytes = chunk as Buffer;
          read += bytes.byteLength;
          if (read > size) break;
          yield new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        }
      } catch (cause) {
        if (cause instanceof TransplantError) throw cause;
        throw new TransplantError(
          'E_DATA_MISSING_FILE',
          `${path} cannot be read (${(cause as NodeJS.ErrnoException).code ?? String(cause)})`,
          { operation: 'read', cause },
        );
      }
      if (read !== size)
        throw new TransplantError(
          'E_DIGEST_MISMATCH',
          `${path} changed while it was read: ${read} bytes, expected ${size}`,
          { operation: 'read' },
        );
    },
  };
}

/** sha256 of a source, read once. */
export async function digestOf(source: BlobSource): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of source.chunks()) hash.update(chunk);
  return `sha256:${hash.digest('hex')}`;
}

/**
 * Reads a source whole into one array of its declared size (the only copy), hashing as it
 * goes; returns the bytes and their digest. A source longer or shorter than declared is an error.
 */
export async function readAll(
  source: BlobSource,
  what: string,
): Promise<{ bytes: Uint8Array; digest: string }> {
  const bytes = new Uint8Array(source.size);
  const hash = createHash('sha256');
  let at = 0;
  for await (const chunk of source.chunks()) {
    if (at + chunk.byteLength > bytes.byteLength) {
      throw new TransplantError('E_REGISTRY_CORRUPT', `${what}: more bytes than its ${source.size}`, {
        operation: 'read',
      });
    }
    bytes.set(chunk, at);
    hash.update(chunk);
    at += chunk.byteLength;
  }
  if (at !== bytes.byteLength)
    throw new TransplantError('E_REGISTRY_CORRUPT', `${what}: ${at} of ${source.size} bytes`, {
      operation: 'read',
    });
  return { bytes, digest: `sha256:${hash.digest('hex')}` };
}

/** The error every store gives when written bytes do not hash to the digest they were stored under. */
export function digestMismatch(
  what: string,
  expected: string,
  actual: string,
  size: number,
): TransplantError {
  return new TransplantError(
    'E_DIGEST_MISMATCH',
    `${what}: the bytes (${size}) hash to ${actual}, not ${expected}; nothing was stored`,
    { operation: 'putBlob', details: { expected, actual } },
  );
}
