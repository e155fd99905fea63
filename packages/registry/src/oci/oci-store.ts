import { TransplantError, isExactVersion, isModuleName, sha256Digest } from '@transplant/core';
import {
  emptyIndex,
  withLatest,
  type AttachmentEntry,
  type ModuleIndex,
  type VersionEntry,
} from '../module-index';
import type { RegistryStore } from '../store';
import type { OciCredentials } from './credentials';

/** Media types of a module version stored as an OCI artifact. */
export const MEDIA_TYPES = {
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  moduleManifest: 'application/vnd.transplant.module.manifest.v1+json',
  weights: 'application/vnd.transplant.module.weights.v1+msgpack',
  meta: 'application/vnd.transplant.module.meta.v1+json',
  empty: 'application/vnd.oci.empty.v1+json',
} as const;

/** The tag holding a module's dist-tags and yanked versions (not a semver, so never a version). */
export const META_TAG = 'transplant-meta';
const EMPTY = new TextEncoder().encode('{}');

interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
}
interface OciManifest {
  readonly schemaVersion: 2;
  readonly mediaType: string;
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
  readonly annotations?: Record<string, string>;
}
interface Meta {
  readonly distTags: Record<string, string>;
  readonly yanked: string[];
  /** Per version, its attachments by kind (the one mutable record of a version besides yanking). */
  readonly attachments?: Record<string, Record<string, AttachmentEntry>>;
}

/** Semver allows `+`, OCI tags do not: `1.0.0+build.1` is stored as tag `1.0.0_build.1`. */
export const versionToTag = (v: string) => v.replaceAll('+', '_');
export const tagToVersion = (t: string) => t.replaceAll('_', '+');

export interface OciLocation {
  readonly base: string;
  readonly host: string;
  readonly namespace: string;
}

/**
 * `oci://host[:port]/namespace[/more]`. HTTPS, except for loopback hosts (127.0.0.1, ::1,
 * localhost), which registries serve over plain HTTP. Credentials in the URL are refused.
 */
export function parseOciLocation(location: string): OciLocation {
  let url: URL;
  try {
    if (!location.startsWith('oci://')) throw new Error('not oci://');
    url = new URL(location.replace(/^oci:\/\//, 'http://'));
  } catch {
    throw new TransplantError(
      'E_REGISTRY_LOCATION_INVALID',
      `"${location}" is not an oci://host[:port]/namespace location`,
      { operation: 'openStore' },
    );
  }
  if (url.username || url.password) {
    throw new TransplantError(
      'E_REGISTRY_LOCATION_INVALID',
      'credentials are never taken from the registry address; use TRANSPLANT_REGISTRY_USERNAME / TRANSPLANT_REGISTRY_PASSWORD or the credentials file',
      { operation: 'openStore' },
    );
  }
  const namespace = url.pathname.replace(/^\/+|\/+$/g, '');
  if (!/^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/.test(namespace)) {
    throw new TransplantError(
      'E_REGISTRY_LOCATION_INVALID',
      `"${location}" needs a namespace: oci://host[:port]/namespace`,
      { operation: 'openStore' },
    );
  }
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  return { base: `${loopback ? 'http' : 'https'}://${url.host}`, host: url.host, namespace };
}

/**
 * A registry kept in any OCI distribution registry: each module is a repository
 * `<namespace>/<name>`, each version an artifact tagged with the version, whose config is the
 * module manifest and whose one layer is the weights blob — under the digests Transplant
 * computes anyway. Dist-tags and yanked flags live in a small artifact under the tag
 * `transplant-meta`.
 *
 * Immutability: a version tag that exists is never written again (checked just before the
 * write, and the tag is read back after it). OCI registries have no compare-and-set on tags,
 * so two publishers of the same version within one round trip of each other can both write;
 * the later write wins, and the earlier publisher is told E_VERSION_EXISTS if its read-back
 * sees the other's artifact. The same window applies to the `transplant-meta` artifact.
 */
export class OciStore implements RegistryStore {
  readonly location: string;
  private readonly where: OciLocation;

  constructor(
    location: string,
    private readonly credentials: OciCredentials | undefined,
    private readonly http: typeof fetch = fetch,
  ) {
    this.where = parseOciLocation(location);
    this.location = `oci://${this.where.host}/${this.where.namespace}`;
  }

  private repo(name: string): string {
    if (!isModuleName(name))
      throw new TransplantError('E_MODULE_REF_INVALID', `"${name}" is not a module name`, {
        operation: 'oci',
      });
    return `${this.where.namespace}/${name}`;
  }

  private async request(
    method: string,
    path: string,
    init: { body?: Uint8Array; headers?: Record<string, string>; ok: number[]; what: string },
  ): Promise<Response> {
    const headers: Record<string, string> = { ...init.headers };
    if (this.credentials)
      headers['authorization'] =
        `Basic ${Buffer.from(`${this.credentials.username}:${this.credentials.password}`).toString('base64')}`;
    let response: Response;
    try {
      response = await this.http(path.startsWith('http') ? path : `${this.where.base}${path}`, {
        method,
        headers,
        ...(init.body ? { body: init.body } : {}),
        redirect: 'follow',
      });
    } catch (cause) {
      throw new TransplantError(
        'E_REGISTRY_UNREACHABLE',
        `${this.location}: ${init.what}: ${(cause as Error).message}`,
        { module: this.location, operation: init.what, cause },
      );
    }
    if (init.ok.includes(response.status)) return response;
    const text = await response.text().catch(() => '');
    if (response.status === 401 || response.status === 403) {
      const challenge = response.headers.get('www-authenticate') ?? '';
      const why = /^bearer/i.test(challenge)
        ? 'this registry wants bearer-token authentication, which Transplant does not speak yet (basic authentication only)'
        : this.credentials
          ? 'the credentials were refused'
          : 'no credentials were given';
      throw new TransplantError('E_AUTH', `${this.location}: ${init.what}: ${why}`, {
        module: this.location,
        operation: init.what,
      });
    }
    throw new TransplantError(
      'E_REGISTRY_PROTOCOL',
      `${this.location}: ${init.what}: HTTP ${response.status} ${text.slice(0, 200)}`,
      {
        module: this.location,
        operation: init.what,
      },
    );
  }

  async hasBlob(name: string, digest: string): Promise<boolean> {
    const r = await this.request('HEAD', `/v2/${this.repo(name)}/blobs/${digest}`, {
      ok: [200, 404],
      what: 'check blob',
    });
    return r.status === 200;
  }

  async putBlob(name: string, bytes: Uint8Array, digest: string): Promise<void> {
    if (await this.hasBlob(name, digest)) return;
    const start = await this.request('POST', `/v2/${this.repo(name)}/blobs/uploads/`, {
      ok: [202],
      what: 'start upload',
    });
    const location = start.headers.get('location');
    if (!location)
      throw new TransplantError('E_REGISTRY_PROTOCOL', `${this.location}: upload without a Location`, {
        operation: 'putBlob',
      });
    const url = new URL(location, this.where.base);
    url.searchParams.set('digest', digest);
    await this.request('PUT', url.toString(), {
      body: bytes,
      headers: { 'content-type': 'application/octet-stream' },
      ok: [201],
      what: 'upload blob',
    });
  }

  async getBlob(name: string, digest: string): Promise<Uint8Array | undefined> {
    const r = await this.request('GET', `/v2/${this.repo(name)}/blobs/${digest}`, {
      ok: [200, 404],
      what: 'fetch blob',
    });
    return r.status === 404 ? undefined : new Uint8Array(await r.arrayBuffer());
  }

  async listNames(): Promise<string[]> {
    const names: string[] = [];
    let next: string | undefined = '/v2/_catalog?n=1000';
    while (next) {
      const r = await this.request('GET', next, { ok: [200], what: 'list repositories' });
      const body = (await r.json()) as { repositories?: string[] };
      for (const repo of body.repositories ?? []) {
        const prefix = `${this.where.namespace}/`;
        if (repo.startsWith(prefix) && isModuleName(repo.slice(prefix.length)))
          names.push(repo.slice(prefix.length));
      }
      next = /<([^>]+)>;\s*rel="next"/.exec(r.headers.get('link') ?? '')?.[1];
    }
    return names.sort();
  }

  private async tags(name: string): Promise<string[] | undefined> {
    const tags: string[] = [];
    let next: string | undefined = `/v2/${this.repo(name)}/tags/list?n=1000`;
    while (next) {
      const r = await this.request('GET', next, { ok: [200, 404], what: 'list tags' });
      if (r.status === 404) return undefined;
      tags.push(...(((await r.json()) as { tags?: string[] | null }).tags ?? []));
      next = /<([^>]+)>;\s*rel="next"/.exec(r.headers.get('link') ?? '')?.[1];
    }
    return tags;
  }

  private async manifest(
    name: string,
    tag: string,
  ): Promise<{ manifest: OciManifest; digest: string } | undefined> {
    const r = await this.request('GET', `/v2/${this.repo(name)}/manifests/${tag}`, {
      headers: { accept: MEDIA_TYPES.manifest },
      ok: [200, 404],
      what: 'read manifest',
    });
    if (r.status === 404) return undefined;
    const bytes = new Uint8Array(await r.arrayBuffer());
    const digest = sha256Digest(bytes);
    const served = r.headers.get('docker-content-digest');
    if (served && served !== digest) {
      throw new TransplantError(
        'E_DIGEST_MISMATCH',
        `${name}:${tag} manifest reads as ${digest}, the registry says ${served}`,
        { module: name, operation: 'read manifest' },
      );
    }
    return { manifest: JSON.parse(new TextDecoder().decode(bytes)) as OciManifest, digest };
  }

  private async readMeta(name: string): Promise<Meta> {
    const m = await this.manifest(name, META_TAG);
    const layer = m?.manifest.layers[0];
    if (!layer) return { distTags: {}, yanked: [] };
    const bytes = await this.getBlob(name, layer.digest);
    if (!bytes || sha256Digest(bytes) !== layer.digest) {
      throw new TransplantError(
        'E_DIGEST_MISMATCH',
        `${name}: the ${META_TAG} blob does not match ${layer.digest}`,
        { module: name, operation: 'readIndex' },
      );
    }
    return JSON.parse(new TextDecoder().decode(bytes)) as Meta;
  }

  async readIndex(name: string): Promise<ModuleIndex | undefined> {
    const tags = await this.tags(name);
    if (tags === undefined) return undefined;
    // The meta artifact and every version's manifest are independent reads: issue them together.
    const versionTags = tags.filter((tag) => isExactVersion(tagToVersion(tag)));
    const [meta, manifests] = await Promise.all([
      this.readMeta(name),
      Promise.all(versionTags.map((tag) => this.manifest(name, tag))),
    ]);
    const versions: Record<string, VersionEntry> = {};
    for (const [i, tag] of versionTags.entries()) {
      const version = tagToVersion(tag);
      const m = manifests[i];
      const layer = m?.manifest.layers[0];
      if (!m || !layer || m.manifest.config.mediaType !== MEDIA_TYPES.moduleManifest) continue;
      versions[version] = {
        kind: (m.manifest.annotations?.['io.transplant.module.kind'] ?? 'category') as VersionEntry['kind'],
        manifestDigest: m.manifest.config.digest,
        manifestSize: m.manifest.config.size,
        weightsDigest: layer.digest,
        weightsSize: layer.size,
        publishedAt: m.manifest.annotations?.['org.opencontainers.image.created'] ?? '',
        yanked: meta.yanked.includes(version),
        ...(meta.attachments?.[version] ? { attachments: meta.attachments[version] } : {}),
      };
    }
    if (Object.keys(versions).length === 0) return undefined;
    const distTags = Object.fromEntries(Object.entries(meta.distTags).filter(([, v]) => v in versions));
    return withLatest({ ...emptyIndex(name), versions, distTags });
  }

  private async putManifest(name: string, tag: string, manifest: OciManifest): Promise<string> {
    const bytes = new TextEncoder().encode(JSON.stringify(manifest));
    await this.request('PUT', `/v2/${this.repo(name)}/manifests/${tag}`, {
      body: bytes,
      headers: { 'content-type': MEDIA_TYPES.manifest },
      ok: [201],
      what: 'write manifest',
    });
    return sha256Digest(bytes);
  }

  async updateIndex(
    name: string,
    update: (current: ModuleIndex | undefined) => ModuleIndex,
  ): Promise<ModuleIndex> {
    const current = await this.readIndex(name);
    const next = update(current);
    for (const [version, entry] of Object.entries(next.versions)) {
      if (current?.versions[version]) continue;
      const tag = versionToTag(version);
      if (await this.manifest(name, tag)) {
        throw new TransplantError('E_VERSION_EXISTS', `${name}@${version} is already published`, {
          module: `${name}@${version}`,
          operation: 'publish',
        });
      }
      const ours = await this.putManifest(name, tag, {
        schemaVersion: 2,
        mediaType: MEDIA_TYPES.manifest,
        config: {
          mediaType: MEDIA_TYPES.moduleManifest,
          digest: entry.manifestDigest,
          size: entry.manifestSize,
        },
        layers: [{ mediaType: MEDIA_TYPES.weights, digest: entry.weightsDigest, size: entry.weightsSize }],
        annotations: {
          'org.opencontainers.image.created': entry.publishedAt,
          'org.opencontainers.image.version': version,
          'io.transplant.module.name': name,
          'io.transplant.module.kind': entry.kind,
        },
      });
      const after = await this.manifest(name, tag);
      if (after?.digest !== ours) {
        throw new TransplantError(
          'E_VERSION_EXISTS',
          `${name}@${version} was published by someone else at the same moment`,
          { module: `${name}@${version}`, operation: 'publish' },
        );
      }
    }
    const yanked = Object.entries(next.versions)
      .filter(([, e]) => e.yanked)
      .map(([v]) => v)
      .sort();
    const distTags = Object.fromEntries(Object.entries(next.distTags).filter(([tag]) => tag !== 'latest'));
    const attachmentsOf = (index: ModuleIndex | undefined) =>
      Object.fromEntries(
        Object.entries(index?.versions ?? {})
          .flatMap(([v, e]) =>
            e.attachments && Object.keys(e.attachments).length ? [[v, e.attachments]] : [],
          )
          .sort((a, b) => (a[0]! < b[0]! ? -1 : 1)),
      );
    const attachments = attachmentsOf(next);
    const before = current
      ? {
          yanked: Object.entries(current.versions)
            .filter(([, e]) => e.yanked)
            .map(([v]) => v)
            .sort(),
          distTags: Object.fromEntries(Object.entries(current.distTags).filter(([t]) => t !== 'latest')),
          attachments: attachmentsOf(current),
        }
      : { yanked: [], distTags: {}, attachments: {} };
    if (JSON.stringify(before) !== JSON.stringify({ yanked, distTags, attachments })) {
      const bytes = new TextEncoder().encode(
        JSON.stringify({
          distTags,
          yanked,
          ...(Object.keys(attachments).length ? { attachments } : {}),
        } satisfies Meta),
      );
      const digest = sha256Digest(bytes);
      await this.putBlob(name, bytes, digest);
      await this.putBlob(name, EMPTY, sha256Digest(EMPTY));
      await this.putManifest(name, META_TAG, {
        schemaVersion: 2,
        mediaType: MEDIA_TYPES.manifest,
        config: { mediaType: MEDIA_TYPES.empty, digest: sha256Digest(EMPTY), size: EMPTY.byteLength },
        layers: [{ mediaType: MEDIA_TYPES.meta, digest, size: bytes.byteLength }],
      });
    }
    return next;
  }

  /** OCI registries do not list blobs; verify walks what the indexes reference. */
  async listBlobs(): Promise<undefined> {
    return undefined;
  }

  async deleteBlob(): Promise<void> {
    throw new TransplantError(
      'E_REGISTRY_PROTOCOL',
      `${this.location}: blobs are removed by the registry's own garbage collector`,
      { operation: 'gc' },
    );
  }

  async blobAgeMs(): Promise<undefined> {
    return undefined;
  }

  async sweep(): Promise<number> {
    return 0;
  }
}
