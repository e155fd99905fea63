import { createHash } from 'node:crypto';
import { TransplantError } from '../errors';

export type Digest = `sha256:${string}`;

/** The content address of bytes, in the `sha256:<hex>` form used in manifests and registries. */
export function sha256Digest(bytes: Uint8Array): Digest {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

export function assertDigest(bytes: Uint8Array, expected: string, module?: string): void {
  const actual = sha256Digest(bytes);
  if (actual !== expected) {
    throw new TransplantError('E_DIGEST_MISMATCH', `expected ${expected}, got ${actual}`, {
      module,
      operation: 'verify',
      details: { expected, actual },
    });
  }
}
