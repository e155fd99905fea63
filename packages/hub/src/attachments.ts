import { decodeReport, isPng, isReportBundle, type ReportBundle } from '@transplant/core';
import type { Registry } from '@transplant/registry';
import { HttpError } from './http-error';

/** An attachment as the hub serves it: its bytes, read and checked once, and what they are. */
export interface AttachmentRead {
  readonly digest: string;
  readonly bytes: Uint8Array;
  readonly png: boolean;
  /** The decoded report, when the bytes are a report bundle. */
  readonly report?: ReportBundle;
}

/**
 * Attachments read from the registry and decoded once, kept by digest (an attachment's digest
 * names its bytes forever) up to `budget` bytes, the least recently used dropped first: a
 * report's page and each of its pictures share one read and one decode, and a burst of requests
 * for one attachment waits on the same read.
 */
export class AttachmentReads {
  private readonly kept = new Map<string, Promise<AttachmentRead>>();
  private readonly sizes = new Map<string, number>();
  private total = 0;

  constructor(private readonly budget: number) {}

  read(registry: Registry, ref: string, kind: string, digest: string, most: number): Promise<AttachmentRead> {
    let found = this.kept.get(digest);
    if (found) {
      // Most recently used: to the end of the map's order.
      this.kept.delete(digest);
      this.kept.set(digest, found);
      return found;
    }
    found = registry.attachment(ref, kind).then(({ bytes, digest: actual }) => {
      // Replaced since the catalog was read: the size the index records now may be another.
      if (bytes.byteLength > most)
        throw new HttpError(
          413,
          `the ${kind} attachment of ${ref} has ${bytes.byteLength} bytes; the hub reads at most ${most}`,
        );
      const report = isReportBundle(bytes) ? decodeReport(bytes) : undefined;
      return { digest: actual, bytes, png: isPng(bytes), ...(report ? { report } : {}) };
    });
    this.kept.set(digest, found);
    found.then(
      (read) => this.account(digest, read.bytes.byteLength),
      () => this.kept.delete(digest),
    );
    return found;
  }

  private account(digest: string, size: number): void {
    if (!this.kept.has(digest)) return;
    this.sizes.set(digest, size);
    this.total += size;
    for (const old of this.kept.keys()) {
      if (this.total <= this.budget || old === digest) break;
      this.total -= this.sizes.get(old) ?? 0;
      this.sizes.delete(old);
      this.kept.delete(old);
    }
  }
}
