import semver from 'semver';
import { TransplantError, isExactVersion, isModuleName, type ModuleKind } from '@transplant/core';

/**
 * A derived artifact attached to a published version after the fact (an explanatory graph mined
 * from a category module, say): a content-addressed blob, one per kind and version. The module's
 * own manifest and weights never change.
 */
export interface AttachmentEntry {
  readonly digest: string;
  readonly size: number;
  readonly attachedAt: string;
}

export const ATTACHMENT_KIND = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

/** One published version, as a registry records it. */
export interface VersionEntry {
  readonly kind: ModuleKind;
  /** The sha256 of the canonical manifest JSON, and its size. */
  readonly manifestDigest: string;
  readonly manifestSize: number;
  /** The sha256 of the weights blob (also in the manifest), and its size. */
  readonly weightsDigest: string;
  readonly weightsSize: number;
  readonly publishedAt: string;
  readonly yanked: boolean;
  /** By kind (`explanatory-graph`). */
  readonly attachments?: Readonly<Record<string, AttachmentEntry>>;
}

/** Everything a registry knows about one module name. */
export interface ModuleIndex {
  readonly format: 'transplant.module-index';
  readonly formatVersion: 1;
  readonly name: string;
  readonly versions: Readonly<Record<string, VersionEntry>>;
  readonly distTags: Readonly<Record<string, string>>;
}

export function emptyIndex(name: string): ModuleIndex {
  return { format: 'transplant.module-index', formatVersion: 1, name, versions: {}, distTags: {} };
}

/** `latest` follows the highest non-prerelease, non-yanked version (npm's default, without publish order). */
export function withLatest(index: ModuleIndex): ModuleIndex {
  const candidates = Object.entries(index.versions)
    .filter(([v, e]) => !e.yanked && semver.prerelease(v) === null)
    .map(([v]) => v);
  const latest = semver.rsort(candidates)[0];
  const distTags = { ...index.distTags };
  if (latest) distTags['latest'] = latest;
  else delete distTags['latest'];
  return { ...index, distTags };
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;

/** Checks an index read from storage; a damaged one is E_REGISTRY_CORRUPT, never trusted. */
export function parseIndex(raw: unknown, name: string, where: string): ModuleIndex {
  const bad = (why: string) =>
    new TransplantError('E_REGISTRY_CORRUPT', `${where}: ${why}`, { module: name, operation: 'readIndex' });
  if (typeof raw !== 'object' || raw === null) throw bad('not an object');
  const r = raw as Record<string, unknown>;
  if (r['format'] !== 'transplant.module-index' || r['formatVersion'] !== 1)
    throw bad('not a module index of format 1');
  if (r['name'] !== name || !isModuleName(name)) throw bad(`names module "${String(r['name'])}"`);
  const versions = r['versions'];
  const distTags = r['distTags'];
  if (typeof versions !== 'object' || versions === null || typeof distTags !== 'object' || distTags === null)
    throw bad('no versions or dist-tags');
  for (const [v, e] of Object.entries(versions as Record<string, Record<string, unknown>>)) {
    if (!isExactVersion(v)) throw bad(`version "${v}" is not semver`);
    if (!DIGEST.test(String(e['manifestDigest'])) || !DIGEST.test(String(e['weightsDigest'])))
      throw bad(`${v} has a bad digest`);
    if (typeof e['yanked'] !== 'boolean' || typeof e['publishedAt'] !== 'string')
      throw bad(`${v} is incomplete`);
    const attachments = e['attachments'];
    if (attachments !== undefined) {
      if (typeof attachments !== 'object' || attachments === null) throw bad(`${v} has bad attachments`);
      for (const [kind, a] of Object.entries(attachments as Record<string, Record<string, unknown>>)) {
        if (
          !ATTACHMENT_KIND.test(kind) ||
          !DIGEST.test(String(a?.['digest'])) ||
          !Number.isInteger(a?.['size']) ||
          typeof a?.['attachedAt'] !== 'string'
        )
          throw bad(`${v} has a bad ${kind} attachment`);
      }
    }
  }
  for (const [tag, v] of Object.entries(distTags as Record<string, unknown>)) {
    if (typeof v !== 'string' || !(v in (versions as object)))
      throw bad(`dist-tag ${tag} points to no version`);
  }
  return raw as ModuleIndex;
}
