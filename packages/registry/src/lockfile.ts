import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { TransplantError } from '@transplant/core';
import { replaceDurably } from './folder/durable-fs';
import type { Resolved } from './registry';

export interface LockEntry {
  readonly version: string;
  readonly manifestDigest: string;
  readonly weightsDigest: string;
}

/** Pins every module reference a run resolved to exact versions and digests. */
export interface Lockfile {
  readonly lockfileVersion: 1;
  readonly generatedBy: string;
  readonly registry: string;
  /** Keyed by the reference as written (`cat-cls@^1.2`). */
  readonly modules: Readonly<Record<string, LockEntry>>;
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;

export async function readLockfile(path: string): Promise<Lockfile | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const bad = (why: string) =>
    new TransplantError('E_LOCKFILE_INVALID', `${path}: ${why}`, { operation: 'readLockfile' });
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw bad('not JSON');
  }
  if (raw['lockfileVersion'] !== 1 || typeof raw['modules'] !== 'object' || raw['modules'] === null)
    throw bad('not a lockfile of version 1');
  for (const [ref, e] of Object.entries(raw['modules'] as Record<string, Record<string, unknown>>)) {
    if (
      typeof e['version'] !== 'string' ||
      !DIGEST.test(String(e['manifestDigest'])) ||
      !DIGEST.test(String(e['weightsDigest']))
    ) {
      throw bad(`entry "${ref}" is incomplete`);
    }
  }
  return raw as unknown as Lockfile;
}

/** Adds the resolved references to the lockfile at `path` (written atomically). */
export async function recordInLockfile(
  path: string,
  entries: readonly { ref: string; resolved: Resolved }[],
  meta: { generatedBy: string; registry: string },
): Promise<Lockfile> {
  const current = await readLockfile(path);
  const modules: Record<string, LockEntry> = { ...(current?.modules ?? {}) };
  for (const { ref, resolved } of entries) {
    modules[ref] = {
      version: resolved.version,
      manifestDigest: resolved.entry.manifestDigest,
      weightsDigest: resolved.entry.weightsDigest,
    };
  }
  const sorted = Object.fromEntries(Object.entries(modules).sort(([a], [b]) => (a < b ? -1 : 1)));
  const lockfile: Lockfile = {
    lockfileVersion: 1,
    generatedBy: meta.generatedBy,
    registry: meta.registry,
    modules: sorted,
  };
  await replaceDurably(
    dirname(path),
    path,
    new TextEncoder().encode(`${JSON.stringify(lockfile, null, 2)}\n`),
  );
  return lockfile;
}
