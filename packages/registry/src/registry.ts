import semver from 'semver';
import {
  TransplantError,
  isTransplantError,
  formatModuleRef,
  isModuleName,
  matchVersion,
  parseModuleRef,
  sha256Digest,
  validateManifest,
  type ModuleManifest,
  type ModuleRef,
} from '@transplant/core';
import { createHash } from 'node:crypto';
import { bytesSource, digestOf, isBlobSource, readAll, type BlobSource } from './blob-source';
import { canonicalJson } from './canonical-json';
import type { Lockfile } from './lockfile';
import { ATTACHMENT_KIND, emptyIndex, withLatest, type ModuleIndex, type VersionEntry } from './module-index';
import type { RegistryStore } from './store';

export interface Resolved {
  readonly name: string;
  readonly version: string;
  readonly entry: Pick<VersionEntry, 'manifestDigest' | 'weightsDigest'> & Partial<VersionEntry>;
  /** Set when an exact pin selected a yanked version (allowed, but worth saying). */
  readonly warning?: string;
  readonly fromLockfile: boolean;
}

export interface Fetched {
  readonly resolved: Resolved;
  readonly manifest: ModuleManifest;
  readonly weights: Uint8Array;
}

/** A module's weights as a stream that checks itself: the last chunk is followed by E_DIGEST_MISMATCH if they were damaged. */
export interface OpenedWeights {
  readonly resolved: Resolved;
  readonly manifest: ModuleManifest;
  readonly weights: BlobSource;
}

export interface VerifyProblem {
  readonly module?: string;
  readonly digest: string;
  readonly problem: 'missing' | 'corrupt';
}

export interface VerifyReport {
  readonly modules: number;
  readonly versions: number;
  readonly blobs: number;
  readonly problems: readonly VerifyProblem[];
}

export interface RegistryOptions {
  readonly now?: () => Date;
}

const encoder = new TextEncoder();

function readMismatch(what: string, expected: string, actual: string): TransplantError {
  return new TransplantError('E_DIGEST_MISMATCH', `${what}: blob ${expected} reads as ${actual}`, {
    module: what,
    operation: 'fetch',
    details: { expected, actual },
  });
}

function notFound(name: string): TransplantError {
  return new TransplantError('E_MODULE_NOT_FOUND', `"${name}" is not published here`, {
    module: name,
    operation: 'resolve',
  });
}

/**
 * Publish, resolve, fetch (verified), list, info, yank, verify and gc over any store. A
 * published version is immutable; every read is checked against its digest.
 */
export class Registry {
  constructor(
    readonly store: RegistryStore,
    private readonly options: RegistryOptions = {},
  ) {}

  /**
   * Publishes a version. `weights` may be bytes or a BlobSource (a file, another registry's
   * stream): a source is hashed by the store while it is written and never held whole, so a
   * module of any size publishes in O(chunk) memory. Bytes that do not match the manifest's
   * digest and size leave the registry as it was (E_DIGEST_MISMATCH).
   */
  async publish(input: {
    manifest: unknown;
    weights: Uint8Array | BlobSource;
  }): Promise<{ name: string; version: string; manifestDigest: string; weightsDigest: string }> {
    const manifest = validateManifest(input.manifest);
    const ref = `${manifest.name}@${manifest.version}`;
    const source = isBlobSource(input.weights) ? input.weights : bytesSource(input.weights);
    // Bytes in memory are hashed here (cheap, and the error names the module before any
    // write); a source is hashed by the store in the same pass as the write.
    const weightsDigest = isBlobSource(input.weights) ? manifest.weights.digest : sha256Digest(input.weights);
    if (weightsDigest !== manifest.weights.digest || source.size !== manifest.weights.size) {
      throw new TransplantError(
        'E_DIGEST_MISMATCH',
        isBlobSource(input.weights)
          ? `weights are ${source.size} bytes; the manifest says ${manifest.weights.size}`
          : `weights are ${weightsDigest} (${source.size} bytes); the manifest says ${manifest.weights.digest} (${manifest.weights.size} bytes)`,
        {
          module: ref,
          operation: 'publish',
        },
      );
    }
    await this.checkDependencies(manifest);
    const existing = await this.store.readIndex(manifest.name);
    if (existing?.versions[manifest.version]) throw versionExists(ref);
    const manifestBytes = encoder.encode(canonicalJson(manifest));
    const manifestDigest = sha256Digest(manifestBytes);
    // Blobs first, then the index: a crash in between leaves unreferenced blobs (gc removes
    // them), never a visible version without its bytes.
    // A store skips bytes it already holds without reading them; streamed weights are then
    // hashed here, so a damaged module folder is refused even when its digest is known.
    if (isBlobSource(input.weights) && (await this.store.hasBlob(manifest.name, weightsDigest))) {
      const actual = await digestOf(input.weights);
      if (actual !== weightsDigest)
        throw new TransplantError(
          'E_DIGEST_MISMATCH',
          `${ref}: the weights hash to ${actual}, not the manifest's ${weightsDigest}; nothing was published`,
          { module: ref, operation: 'publish', details: { expected: weightsDigest, actual } },
        );
    }
    try {
      await this.store.putBlob(manifest.name, input.weights, weightsDigest);
    } catch (error) {
      if (isTransplantError(error, 'E_DIGEST_MISMATCH')) {
        throw new TransplantError(
          'E_DIGEST_MISMATCH',
          `${ref}: the weights do not match the manifest's ${weightsDigest}; nothing was published (${error.message})`,
          { module: ref, operation: 'publish', cause: error },
        );
      }
      throw error;
    }
    await this.store.putBlob(manifest.name, manifestBytes, manifestDigest);
    const entry: VersionEntry = {
      kind: manifest.kind,
      manifestDigest,
      manifestSize: manifestBytes.byteLength,
      weightsDigest,
      weightsSize: source.size,
      publishedAt: (this.options.now?.() ?? new Date()).toISOString(),
      yanked: false,
    };
    await this.store.updateIndex(manifest.name, (current) => {
      const index = current ?? emptyIndex(manifest.name);
      if (index.versions[manifest.version]) throw versionExists(ref);
      return withLatest({ ...index, versions: { ...index.versions, [manifest.version]: entry } });
    });
    return { name: manifest.name, version: manifest.version, manifestDigest, weightsDigest };
  }

  private async checkDependencies(manifest: ModuleManifest): Promise<void> {
    const missing: string[] = [];
    for (const dep of manifest.dependencies) {
      const index = await this.store.readIndex(dep.name);
      if (dep.pinned) {
        const entry = index?.versions[dep.pinned.version];
        if (!entry || entry.weightsDigest !== dep.pinned.digest || entry.kind !== dep.kind)
          missing.push(`${dep.name}@${dep.pinned.version} (${dep.kind}, ${dep.pinned.digest})`);
      } else {
        const versions = Object.entries(index?.versions ?? {})
          .filter(([, e]) => !e.yanked && e.kind === dep.kind)
          .map(([v]) => v);
        if (!semver.maxSatisfying(versions, dep.range))
          missing.push(`${dep.name}@${dep.range} (${dep.kind})`);
      }
    }
    if (missing.length > 0) {
      throw new TransplantError('E_DEPENDENCY_MISSING', missing.join(', '), {
        module: `${manifest.name}@${manifest.version}`,
        operation: 'publish',
        details: missing,
      });
    }
  }

  async index(name: string): Promise<ModuleIndex> {
    if (!isModuleName(name))
      throw new TransplantError('E_MODULE_REF_INVALID', `"${name}" is not a module name`, {
        operation: 'info',
      });
    const index = await this.store.readIndex(name);
    if (!index) throw notFound(name);
    return index;
  }

  /** Name + range/tag/version → one version and its digests; a lockfile entry wins when present. */
  async resolve(reference: ModuleRef | string, lockfile?: Lockfile): Promise<Resolved> {
    const ref = typeof reference === 'string' ? parseModuleRef(reference) : reference;
    const locked = lockfile?.modules[formatModuleRef(ref)];
    if (locked) return { name: ref.name, version: locked.version, entry: locked, fromLockfile: true };
    const index = await this.index(ref.name);
    const live = Object.keys(index.versions).filter((v) => !index.versions[v]!.yanked);
    let version: string | undefined;
    switch (ref.selector.type) {
      case 'version':
        version = index.versions[ref.selector.version] ? ref.selector.version : undefined;
        break;
      case 'range':
        version = matchVersion(ref, live);
        break;
      case 'tag':
        version = index.distTags[ref.selector.tag];
        break;
    }
    if (version === undefined) {
      throw new TransplantError(
        'E_VERSION_NOT_FOUND',
        `${formatModuleRef(ref)}: published ${Object.keys(index.versions).join(', ') || 'nothing'}; tags ${JSON.stringify(index.distTags)}`,
        {
          module: ref.name,
          operation: 'resolve',
        },
      );
    }
    const entry = index.versions[version]!;
    const warning = entry.yanked
      ? `${ref.name}@${version} is yanked; it was selected because it is pinned exactly`
      : undefined;
    return { name: ref.name, version, entry, fromLockfile: false, ...(warning ? { warning } : {}) };
  }

  private async openVerified(name: string, digest: string, what: string): Promise<BlobSource> {
    const source = await this.store.openBlob(name, digest);
    if (!source)
      throw new TransplantError('E_REGISTRY_CORRUPT', `${what}: blob ${digest} is missing`, {
        module: what,
        operation: 'fetch',
      });
    return source;
  }

  /** A blob read whole into one array, hashed on the way (one copy, one pass). */
  private async blob(name: string, digest: string, what: string): Promise<Uint8Array> {
    const { bytes, digest: actual } = await readAll(await this.openVerified(name, digest, what), what);
    if (actual !== digest) throw readMismatch(what, digest, actual);
    return bytes;
  }

  /**
   * Resolves and reads a module's manifest only (verified against its digest): enough to
   * check ports and dependencies before any weights are read.
   */
  async manifest(
    reference: ModuleRef | string | Resolved,
    lockfile?: Lockfile,
  ): Promise<Omit<Fetched, 'weights'>> {
    const resolved =
      typeof reference === 'object' && 'entry' in reference
        ? reference
        : await this.resolve(reference, lockfile);
    const what = `${resolved.name}@${resolved.version}`;
    const manifestBytes = await this.blob(resolved.name, resolved.entry.manifestDigest, what);
    const manifest = validateManifest(JSON.parse(new TextDecoder().decode(manifestBytes)), what);
    if (
      manifest.weights.digest !== resolved.entry.weightsDigest ||
      manifest.name !== resolved.name ||
      manifest.version !== resolved.version
    ) {
      throw new TransplantError('E_REGISTRY_CORRUPT', `${what}: the manifest does not match the index`, {
        module: what,
        operation: 'fetch',
      });
    }
    return { resolved, manifest };
  }

  /** Resolves and reads a module; both blobs are verified against their digests on every read. */
  async fetch(reference: ModuleRef | string | Resolved, lockfile?: Lockfile): Promise<Fetched> {
    const { resolved, manifest } = await this.manifest(reference, lockfile);
    const weights = await this.blob(
      resolved.name,
      resolved.entry.weightsDigest,
      `${resolved.name}@${resolved.version}`,
    );
    return { resolved, manifest, weights };
  }

  /**
   * Resolves a module and opens its weights as a stream that verifies itself: it hashes every
   * chunk and throws E_DIGEST_MISMATCH after the last one if the bytes are not the published
   * ones, so a consumer commits what it wrote only once the stream has ended. O(chunk) memory.
   */
  async openWeights(reference: ModuleRef | string | Resolved, lockfile?: Lockfile): Promise<OpenedWeights> {
    const { resolved, manifest } = await this.manifest(reference, lockfile);
    const what = `${resolved.name}@${resolved.version}`;
    const digest = resolved.entry.weightsDigest;
    const source = await this.openVerified(resolved.name, digest, what);
    const weights: BlobSource = {
      size: source.size,
      async *chunks(from = 0) {
        // Only a read from the start can be checked; a partial read is the caller's to check.
        if (from > 0) {
          yield* source.chunks(from);
          return;
        }
        const hash = createHash('sha256');
        for await (const chunk of source.chunks()) {
          hash.update(chunk);
          yield chunk;
        }
        const actual = `sha256:${hash.digest('hex')}`;
        if (actual !== digest) throw readMismatch(what, digest, actual);
      },
    };
    return { resolved, manifest, weights };
  }

  async list(): Promise<
    { name: string; latest: string | undefined; versions: number; kind: string | undefined }[]
  > {
    const out = [];
    for (const name of await this.store.listNames()) {
      const index = await this.store.readIndex(name);
      if (!index) continue;
      const latest = index.distTags['latest'];
      const any = Object.values(index.versions)[0];
      out.push({ name, latest, versions: Object.keys(index.versions).length, kind: any?.kind });
    }
    return out;
  }

  async setYanked(
    name: string,
    version: string,
    { yanked }: { readonly yanked: boolean },
  ): Promise<ModuleIndex> {
    await this.index(name);
    return this.store.updateIndex(name, (current) => {
      const index = current ?? emptyIndex(name);
      const entry = index.versions[version];
      if (!entry)
        throw new TransplantError('E_VERSION_NOT_FOUND', `${name}@${version} is not published`, {
          module: name,
          operation: yanked ? 'yank' : 'unyank',
        });
      return withLatest({ ...index, versions: { ...index.versions, [version]: { ...entry, yanked } } });
    });
  }

  /**
   * Attaches a derived artifact of `kind` to a published version (the version the reference
   * resolves to): the blob is stored first, then the index records it, so a failure leaves the
   * registry as it was. An attachment of that kind is replaced only with `replace`.
   */
  async attach(
    reference: ModuleRef | string,
    options: { kind: string; bytes: Uint8Array; replace?: boolean; now?: () => Date },
  ): Promise<{ name: string; version: string; digest: string; replaced?: string }> {
    const { kind, bytes } = options;
    if (!ATTACHMENT_KIND.test(kind))
      throw new TransplantError(
        'E_INVALID_ARGUMENT',
        `"${kind}" is not an attachment kind (lower-case words joined by "-")`,
        { operation: 'attach' },
      );
    const resolved = await this.resolve(reference);
    const digest = sha256Digest(bytes);
    await this.store.putBlob(resolved.name, bytes, digest);
    let replaced: string | undefined;
    await this.store.updateIndex(resolved.name, (current) => {
      const entry = current?.versions[resolved.version];
      if (!current || !entry) throw notFound(resolved.name);
      const previous = entry.attachments?.[kind];
      if (previous && previous.digest !== digest && !options.replace) {
        throw new TransplantError(
          'E_VERSION_EXISTS',
          `${resolved.name}@${resolved.version} already has an ${kind} attachment (${previous.digest.slice(0, 19)}…, ${previous.attachedAt}); pass --replace to replace it`,
          { module: `${resolved.name}@${resolved.version}`, operation: 'attach' },
        );
      }
      replaced = previous && previous.digest !== digest ? previous.digest : undefined;
      const attachment = {
        digest,
        size: bytes.byteLength,
        attachedAt: (options.now ?? (() => new Date()))().toISOString(),
      };
      return {
        ...current,
        versions: {
          ...current.versions,
          [resolved.version]: { ...entry, attachments: { ...entry.attachments, [kind]: attachment } },
        },
      };
    });
    return { name: resolved.name, version: resolved.version, digest, ...(replaced ? { replaced } : {}) };
  }

  /** The attachment of `kind` of the version a reference resolves to, its bytes verified against the recorded digest. */
  async attachment(
    reference: ModuleRef | string,
    kind: string,
  ): Promise<{ resolved: Resolved; digest: string; bytes: Uint8Array }> {
    const resolved = await this.resolve(reference);
    const attachment = (await this.index(resolved.name)).versions[resolved.version]?.attachments?.[kind];
    if (!attachment) {
      throw new TransplantError(
        'E_MODULE_NOT_FOUND',
        `${resolved.name}@${resolved.version} has no ${kind} attachment${kind === 'explanatory-graph' ? '; mine one with `transplant graph mine --attach`' : ''}`,
        { module: `${resolved.name}@${resolved.version}`, operation: 'attachment' },
      );
    }
    const bytes = await this.blob(
      resolved.name,
      attachment.digest,
      `${resolved.name}@${resolved.version} (${kind})`,
    );
    return { resolved, digest: attachment.digest, bytes };
  }

  /** Walks every index and blob; reports each missing or corrupt blob, naming the module version. */
  async verify(): Promise<VerifyReport> {
    const problems: VerifyProblem[] = [];
    const referenced = new Map<string, { name: string; module: string }>();
    let versions = 0;
    const names = await this.store.listNames();
    for (const name of names) {
      const index = await this.store.readIndex(name);
      for (const [version, entry] of Object.entries(index?.versions ?? {})) {
        versions++;
        for (const digest of [
          entry.manifestDigest,
          entry.weightsDigest,
          ...Object.values(entry.attachments ?? {}).map((a) => a.digest),
        ])
          referenced.set(digest, { name, module: `${name}@${version}` });
      }
    }
    const all = (await this.store.listBlobs()) ?? [...referenced.keys()];
    const seen = new Set<string>();
    for (const digest of new Set([...all, ...referenced.keys()])) {
      const ref = referenced.get(digest);
      const source = await this.store.openBlob(ref?.name ?? '', digest);
      const module = ref?.module;
      seen.add(digest);
      if (!source) problems.push({ ...(module ? { module } : {}), digest, problem: 'missing' });
      else {
        // A blob that reads short or not at all is a problem of the blob; a registry that
        // cannot be reached (or refuses us) is not, and stops the walk with its own code.
        const actual = await digestOf(source).catch((error: unknown) => {
          if (isTransplantError(error, 'E_REGISTRY_UNREACHABLE') || isTransplantError(error, 'E_AUTH'))
            throw error;
          return undefined;
        });
        if (actual !== digest) problems.push({ ...(module ? { module } : {}), digest, problem: 'corrupt' });
      }
    }
    return { modules: names.length, versions, blobs: seen.size, problems };
  }

  /** Deletes blobs no index references, older than the grace period (so in-flight publishes keep theirs). */
  async gc(options: { graceMs?: number } = {}): Promise<{ deleted: string[]; swept: number }> {
    const graceMs = options.graceMs ?? 60 * 60 * 1000;
    const referenced = new Set<string>();
    for (const name of await this.store.listNames()) {
      const index = await this.store.readIndex(name);
      for (const entry of Object.values(index?.versions ?? {})) {
        referenced.add(entry.manifestDigest).add(entry.weightsDigest);
        for (const a of Object.values(entry.attachments ?? {})) referenced.add(a.digest);
      }
    }
    const blobs = await this.store.listBlobs();
    if (blobs === undefined)
      throw new TransplantError(
        'E_REGISTRY_PROTOCOL',
        `${this.store.location} cannot list its blobs; run the registry's own garbage collector`,
        { operation: 'gc' },
      );
    const deleted: string[] = [];
    for (const digest of blobs) {
      if (referenced.has(digest)) continue;
      if (graceMs > 0 && !(await this.olderThan(digest, graceMs))) continue;
      await this.store.deleteBlob(digest);
      deleted.push(digest);
    }
    return { deleted, swept: await this.store.sweep(graceMs) };
  }

  private async olderThan(digest: string, ms: number): Promise<boolean> {
    const age = await this.store.blobAgeMs(digest);
    return age === undefined || age > ms;
  }
}

function versionExists(ref: string): TransplantError {
  return new TransplantError('E_VERSION_EXISTS', `${ref} is already published`, {
    module: ref,
    operation: 'publish',
  });
}
