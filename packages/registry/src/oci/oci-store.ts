import { createHash, type Hash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  TransplantError,
  isExactVersion,
  isModuleName,
  isTransplantError,
  sha256Digest,
  type Environment,
} from '@transplant/core';
import { bytesSource, digestMismatch, isBlobSource, readAll, type BlobSource } from '../blob-source';
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

/** Statuses worth another try: the same request may well succeed a moment later. */
const TRANSIENT = new Set([408, 429, 500, 502, 503, 504]);
/** Tries of one safe request (HEAD, GET, manifest PUT, upload start) before its error is final. */
const MAX_TRIES = 5;
/** Failures one chunked upload recovers from (status check, then resume or restart). */
const MAX_RESUMES = 5;
/** Of those, how many may start a new upload session from byte 0. */
const MAX_RESTARTS = 3;
/** Times one blob download may be cut and continued with a Range request. */
const MAX_DOWNLOAD_RESUMES = 3;
/** Longest Retry-After honoured (a registry asking for more is waited on this long). */
const MAX_RETRY_AFTER_MS = 60_000;
export const DEFAULT_OCI_CHUNK_BYTES = 16 * 1024 * 1024;
/** Blob bytes are already compressed or content-addressed: a re-encoded body would not match its length. */
const IDENTITY = { 'accept-encoding': 'identity' };

export interface OciStoreOptions {
  /** Bytes per PATCH of a chunked upload (default 16 MiB, or TRANSPLANT_OCI_CHUNK_MB). */
  readonly chunkBytes?: number;
  /** Delay before the first retry; each next one doubles, up to 16 times this (default 500 ms). */
  readonly retryBaseMs?: number;
}

/** The options an environment sets: TRANSPLANT_OCI_CHUNK_MB (MiB per upload chunk, may be fractional). */
export function ociStoreOptions(env: Environment): OciStoreOptions {
  const mb = env['TRANSPLANT_OCI_CHUNK_MB'];
  if (mb === undefined || mb.trim() === '') return {};
  const chunkBytes = Math.round(Number(mb) * 1024 * 1024);
  if (!Number.isFinite(chunkBytes) || chunkBytes < 1) {
    throw new TransplantError(
      'E_OPTIONS_INVALID',
      `TRANSPLANT_OCI_CHUNK_MB=${mb} is not a positive size in MiB`,
      {
        operation: 'openStore',
      },
    );
  }
  return { chunkBytes };
}

/** The status of a failed registry request (0 when fetch itself failed), from `request`'s errors. */
function statusOf(error: unknown): number | undefined {
  if (isTransplantError(error, 'E_REGISTRY_UNREACHABLE')) return 0;
  if (!isTransplantError(error, 'E_REGISTRY_PROTOCOL')) return undefined;
  const status = (error.details as { status?: unknown } | undefined)?.status;
  return typeof status === 'number' ? status : undefined;
}

/** A failure that the same request may not repeat: the network or a 408/429/5xx. */
function isTransient(error: unknown): boolean {
  const status = statusOf(error);
  return status === 0 || (status !== undefined && TRANSIENT.has(status));
}

/** Milliseconds a `Retry-After` header (seconds or an HTTP date) asks for, when it says. */
function retryAfterMs(header: string | null): number | undefined {
  if (!header) return undefined;
  const ms = /^\s*\d+\s*$/.test(header) ? Number(header) * 1000 : Date.parse(header) - Date.now();
  return Number.isFinite(ms) ? Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS) : undefined;
}

/**
 * The offset after the bytes a `Range: 0-<end>` header acknowledges. `0-0` is ambiguous (none
 * or one byte, registries differ), so it reads as unknown, like a missing or malformed header.
 */
function rangeOffset(header: string | null): number | undefined {
  const m = /^\s*0-(\d+)\s*$/.exec(header ?? '');
  if (!m) return undefined;
  const end = Number(m[1]);
  return end > 0 ? end + 1 : undefined;
}

/**
 * A source's bytes re-cut into pieces of exactly `size` bytes, the last one shorter. Pieces
 * assembled from several source chunks share one buffer, refilled only when the consumer asks
 * for the next piece (it has sent and hashed the last one by then): one allocation per
 * upload instead of one per PATCH, which the garbage collector would reclaim only late.
 */
async function* rechunk(chunks: AsyncIterable<Uint8Array>, size: number): AsyncIterable<Uint8Array> {
  let buffer: Uint8Array | undefined;
  let filled = 0;
  for await (const chunk of chunks) {
    let rest = chunk;
    while (rest.byteLength > 0) {
      if (filled === 0 && rest.byteLength >= size) {
        yield rest.subarray(0, size);
        rest = rest.subarray(size);
        continue;
      }
      buffer ??= new Uint8Array(size);
      const n = Math.min(size - filled, rest.byteLength);
      buffer.set(rest.subarray(0, n), filled);
      filled += n;
      rest = rest.subarray(n);
      if (filled === size) {
        yield buffer;
        filled = 0;
      }
    }
  }
  if (buffer && filled > 0) yield buffer.subarray(0, filled);
}

/**
 * A request body as fetch should send it. fetch copies a Uint8Array body into a fresh buffer
 * before sending, which for 16 MiB chunks left hundreds of MiB for the garbage collector; a
 * one-chunk stream is sent as it is (with the length given, so no chunked encoding).
 */
function streamedBody(body: Uint8Array): {
  body: Uint8Array | ReadableStream<Uint8Array>;
  duplex?: 'half';
  redirect?: 'manual';
} {
  if (body.byteLength < 1 << 20) return { body };
  // fetch cannot replay a stream on a 307/308: the redirect is answered as what it is (an
  // HTTP status the request did not expect, E_REGISTRY_PROTOCOL), not as a network failure.
  return {
    redirect: 'manual',
    body: new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(body);
        controller.close();
      },
    }),
    duplex: 'half',
  };
}

/** sha256 state over a source's first `length` bytes (re-read), to continue an upload from there. */
async function hashPrefix(source: BlobSource, length: number): Promise<Hash | undefined> {
  const hash = createHash('sha256');
  let at = 0;
  if (length > 0) {
    for await (const chunk of source.chunks(0)) {
      const take = Math.min(chunk.byteLength, length - at);
      hash.update(chunk.subarray(0, take));
      at += take;
      if (at === length) break;
    }
  }
  return at === length ? hash : undefined;
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

  private readonly chunkBytes: number;
  private readonly retryBaseMs: number;

  /** `options` default to TRANSPLANT_OCI_CHUNK_MB of the process environment, else 16 MiB chunks. */
  constructor(
    location: string,
    private readonly credentials: OciCredentials | undefined,
    private readonly http: typeof fetch = fetch,
    options: OciStoreOptions = {},
  ) {
    this.where = parseOciLocation(location);
    this.location = `oci://${this.where.host}/${this.where.namespace}`;
    const chunkBytes =
      options.chunkBytes ?? ociStoreOptions(process.env).chunkBytes ?? DEFAULT_OCI_CHUNK_BYTES;
    if (!Number.isSafeInteger(chunkBytes) || chunkBytes < 1)
      throw new TransplantError('E_OPTIONS_INVALID', `chunkBytes ${chunkBytes} is not a positive integer`, {
        operation: 'openStore',
      });
    this.chunkBytes = chunkBytes;
    this.retryBaseMs = Math.max(0, options.retryBaseMs ?? 500);
  }

  /** The wait before retry number `k` (0-based): base·2^k, at most 16·base (8 s by default). */
  private backoff(k: number): number {
    return Math.min(this.retryBaseMs * 2 ** k, this.retryBaseMs * 16);
  }

  private repo(name: string): string {
    if (!isModuleName(name))
      throw new TransplantError('E_MODULE_REF_INVALID', `"${name}" is not a module name`, {
        operation: 'oci',
      });
    return `${this.where.namespace}/${name}`;
  }

  /**
   * One registry request. Safe and idempotent ones (the default) are tried up to 5 times when
   * fetch fails or the registry answers 408/429/5xx, waiting Retry-After or an exponential
   * backoff; `retry: false` tries once (upload steps, which recover by asking the upload's state).
   * Errors carry `details.status` (0: fetch failed).
   */
  private async request(
    method: string,
    path: string,
    init: {
      body?: Uint8Array;
      headers?: Record<string, string>;
      ok: number[];
      what: string;
      retry?: boolean;
    },
  ): Promise<Response> {
    const headers: Record<string, string> = { ...init.headers };
    const url = path.startsWith('http') ? path : `${this.where.base}${path}`;
    // Credentials go only to the registry itself, never to another host an upload Location
    // or a redirect names (fetch drops them on cross-origin redirects; this covers Locations).
    if (this.credentials && new URL(url).origin === new URL(this.where.base).origin)
      headers['authorization'] =
        `Basic ${Buffer.from(`${this.credentials.username}:${this.credentials.password}`).toString('base64')}`;
    // A streamed body carries its length, so the registry gets no chunked encoding.
    if (init.body) headers['content-length'] = String(init.body.byteLength);
    const tries = init.retry === false ? 1 : MAX_TRIES;
    for (let attempt = 1; ; attempt++) {
      let response: Response;
      try {
        response = await this.http(url, {
          method,
          headers,
          redirect: 'follow',
          ...(init.body ? streamedBody(init.body) : {}),
        });
      } catch (cause) {
        if (attempt < tries) {
          await sleep(this.backoff(attempt - 1));
          continue;
        }
        throw new TransplantError(
          'E_REGISTRY_UNREACHABLE',
          `${this.location}: ${init.what}: ${(cause as Error).message}`,
          { module: this.location, operation: init.what, cause, details: { status: 0 } },
        );
      }
      if (init.ok.includes(response.status)) return response;
      if (attempt < tries && TRANSIENT.has(response.status)) {
        const wait = retryAfterMs(response.headers.get('retry-after')) ?? this.backoff(attempt - 1);
        await response.body?.cancel().catch(() => undefined);
        await sleep(wait);
        continue;
      }
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
          details: { status: response.status },
        });
      }
      throw new TransplantError(
        'E_REGISTRY_PROTOCOL',
        `${this.location}: ${init.what}: HTTP ${response.status} ${text.slice(0, 200)}`,
        { module: this.location, operation: init.what, details: { status: response.status } },
      );
    }
  }

  async hasBlob(name: string, digest: string): Promise<boolean> {
    const r = await this.request('HEAD', `/v2/${this.repo(name)}/blobs/${digest}`, {
      ok: [200, 404],
      what: 'check blob',
    });
    return r.status === 200;
  }

  /**
   * Uploads a blob unless the repository has it. Bytes up to one chunk go in one PUT after
   * hashing them; a source or anything larger goes in PATCHes of `chunkBytes`, hashed as they
   * are sent. A failed PATCH or final PUT asks the registry how much it holds and continues
   * from there, or starts a new session from byte 0 when it cannot say (CNCF distribution
   * refuses a session whose last response was lost). Bytes that do not hash to `digest` cancel
   * the session before the final PUT: the registry never holds them.
   */
  async putBlob(name: string, data: Uint8Array | BlobSource, digest: string): Promise<void> {
    if (!isBlobSource(data) && data.byteLength <= this.chunkBytes) return this.putWhole(name, data, digest);
    // A source that fits one chunk goes whole too: one request, and no upload-state Range
    // to interpret (a registry reports 0 and 1 bytes alike, as "0-0").
    if (isBlobSource(data) && data.size <= this.chunkBytes)
      return this.putWhole(name, (await readAll(data, `${this.location} ${digest}`)).bytes, digest);
    if (await this.hasBlob(name, digest)) return;
    return this.putChunked(name, isBlobSource(data) ? data : bytesSource(data, this.chunkBytes), digest);
  }

  private async startUpload(name: string): Promise<string> {
    // Retried like a safe request: a session whose answer was lost is an orphan the registry purges.
    const start = await this.request('POST', `/v2/${this.repo(name)}/blobs/uploads/`, {
      ok: [202],
      what: 'start upload',
    });
    await start.body?.cancel().catch(() => undefined);
    const location = start.headers.get('location');
    if (!location)
      throw new TransplantError('E_REGISTRY_PROTOCOL', `${this.location}: upload without a Location`, {
        operation: 'putBlob',
      });
    return new URL(location, this.where.base).toString();
  }

  /** The next step's URL: each upload response names it (it carries the session's state). */
  private nextLocation(response: Response, current: string): string {
    const location = response.headers.get('location');
    return location ? new URL(location, current).toString() : current;
  }

  private async cancelUpload(location: string): Promise<void> {
    await this.request('DELETE', location, { ok: [202, 204], retry: false, what: 'cancel upload' }).then(
      (r) => r.body?.cancel().catch(() => undefined),
      () => undefined,
    );
  }

  private async putWhole(name: string, bytes: Uint8Array, digest: string): Promise<void> {
    const actual = sha256Digest(bytes);
    if (actual !== digest) throw digestMismatch(this.location, digest, actual, bytes.byteLength);
    if (await this.hasBlob(name, digest)) return;
    for (let attempt = 1; ; attempt++) {
      const url = new URL(await this.startUpload(name));
      url.searchParams.set('digest', digest);
      try {
        const r = await this.request('PUT', url.toString(), {
          body: bytes,
          headers: { 'content-type': 'application/octet-stream' },
          ok: [201],
          retry: false,
          what: 'upload blob',
        });
        await r.body?.cancel().catch(() => undefined);
        return;
      } catch (error) {
        if (!isTransient(error) || attempt >= MAX_TRIES) throw error;
        await sleep(this.backoff(attempt - 1));
        // The PUT may have landed with only its answer lost.
        if (await this.hasBlob(name, digest)) return;
      }
    }
  }

  private async putChunked(name: string, source: BlobSource, digest: string): Promise<void> {
    let location = await this.startUpload(name);
    let restarts = 0;
    let resumes = 0;
    // The registry holds [0, offset) of this session, and `hash` is their sha256 state.
    let offset = 0;
    let hash = createHash('sha256');
    for (;;) {
      let sent = offset;
      let committing = false;
      try {
        for await (const chunk of rechunk(source.chunks(offset), this.chunkBytes)) {
          const end = offset + chunk.byteLength - 1;
          sent = end + 1;
          const r = await this.request('PATCH', location, {
            body: chunk,
            headers: {
              'content-type': 'application/octet-stream',
              'content-range': `${offset}-${end}`,
              'content-length': String(chunk.byteLength),
            },
            ok: [202],
            retry: false,
            what: 'upload chunk',
          });
          await r.body?.cancel().catch(() => undefined);
          location = this.nextLocation(r, location);
          const range = r.headers.get('range');
          if (range !== null && rangeOffset(range) !== end + 1) {
            throw new TransplantError(
              'E_REGISTRY_PROTOCOL',
              `${this.location}: upload chunk ${offset}-${end} was acknowledged as Range ${range}`,
              { module: this.location, operation: 'upload chunk', details: { status: 416 } },
            );
          }
          hash.update(chunk);
          offset = end + 1;
        }
        const actual = `sha256:${hash.copy().digest('hex')}`;
        if (actual !== digest) throw digestMismatch(this.location, digest, actual, offset);
        const url = new URL(location);
        url.searchParams.set('digest', digest);
        committing = true;
        const r = await this.request('PUT', url.toString(), {
          ok: [201],
          retry: false,
          what: 'finish upload',
        });
        await r.body?.cancel().catch(() => undefined);
        return;
      } catch (error) {
        const status = statusOf(error);
        // Transient failures and a disputed offset (416) ask where the session stands; an
        // unknown or invalid session (404, 400) is replaced; anything else is final.
        const recoverable = status !== undefined && (isTransient(error) || [400, 404, 416].includes(status));
        if (!recoverable || resumes >= MAX_RESUMES) {
          await this.cancelUpload(location);
          throw error;
        }
        await sleep(this.backoff(resumes++));
        if (committing && (await this.hasBlob(name, digest))) return;
        const at = status === 400 || status === 404 ? undefined : await this.uploadStatus(location);
        const resumed =
          at && at.offset <= sent
            ? at.offset === offset
              ? hash
              : await hashPrefix(source, at.offset)
            : undefined;
        if (at && resumed) {
          location = at.location;
          offset = at.offset;
          hash = resumed;
          continue;
        }
        if (restarts++ >= MAX_RESTARTS) {
          await this.cancelUpload(at?.location ?? location);
          throw error;
        }
        if (at) await this.cancelUpload(at.location);
        location = await this.startUpload(name);
        offset = 0;
        hash = createHash('sha256');
      }
    }
  }

  /** How many bytes an upload session holds, and its next URL; undefined when it is gone or cannot say. */
  private async uploadStatus(location: string): Promise<{ offset: number; location: string } | undefined> {
    const r = await this.request('GET', location, {
      ok: [204, 400, 404],
      what: 'upload status',
    }).catch((error: unknown) => {
      if (isTransplantError(error, 'E_AUTH')) throw error;
      return undefined;
    });
    if (!r) return undefined;
    await r.body?.cancel().catch(() => undefined);
    const offset = r.status === 204 ? rangeOffset(r.headers.get('range')) : undefined;
    return offset === undefined ? undefined : { offset, location: this.nextLocation(r, location) };
  }

  /** Small blobs (manifests, meta): read into one array of the blob's length. */
  async getBlob(name: string, digest: string): Promise<Uint8Array | undefined> {
    const source = await this.openBlob(name, digest);
    return source && (await readAll(source, `${this.location} ${digest}`)).bytes;
  }

  /**
   * The blob as a source of the registry's bytes, unverified. Its first reading from 0 uses the
   * response that opened it; other readings (and `from` > 0) request again, with a Range. A
   * body cut short continues with a Range request from the bytes received.
   */
  async openBlob(name: string, digest: string): Promise<BlobSource | undefined> {
    const path = `/v2/${this.repo(name)}/blobs/${digest}`;
    // A HEAD gives existence and length without opening a body: nothing stays open if the
    // source is never read (a copy that finds the version already there, an error before it).
    const head = await this.request('HEAD', path, { headers: IDENTITY, ok: [200, 404], what: 'fetch blob' });
    if (head.status === 404) return undefined;
    const headSize = Number(head.headers.get('content-length') ?? NaN);
    if (Number.isSafeInteger(headSize) && headSize >= 0)
      return { size: headSize, chunks: (from = 0) => this.download(path, headSize, from, undefined) };
    const first = await this.request('GET', path, { headers: IDENTITY, ok: [200, 404], what: 'fetch blob' });
    if (first.status === 404) {
      await first.body?.cancel().catch(() => undefined);
      return undefined;
    }
    let size = Number(first.headers.get('content-length') ?? NaN);
    let unread: Response | undefined = first;
    if (!Number.isSafeInteger(size) || size < 0) {
      // Served without a length (chunked, or by a CDN): the length comes from a HEAD.
      await first.body?.cancel().catch(() => undefined);
      unread = undefined;
      const head = await this.request('HEAD', path, { headers: IDENTITY, ok: [200], what: 'fetch blob' });
      size = Number(head.headers.get('content-length') ?? NaN);
    }
    if (!Number.isSafeInteger(size) || size < 0) {
      throw new TransplantError(
        'E_REGISTRY_PROTOCOL',
        `${this.location}: blob ${digest} without a Content-Length`,
        {
          module: this.location,
          operation: 'fetch blob',
        },
      );
    }
    return {
      size,
      chunks: (from = 0) => {
        const response = unread;
        unread = undefined;
        if (response && from !== 0) void response.body?.cancel().catch(() => undefined);
        return this.download(path, size, from, from === 0 ? response : undefined);
      },
    };
  }

  private async *download(
    path: string,
    size: number,
    from: number,
    response: Response | undefined,
  ): AsyncIterable<Uint8Array> {
    let at = from;
    let cuts = 0;
    while (at < size) {
      response ??= await this.request('GET', path, {
        headers: at > 0 ? { ...IDENTITY, range: `bytes=${at}-` } : IDENTITY,
        ok: at > 0 ? [200, 206] : [200],
        what: 'fetch blob',
      });
      // A registry that ignores Range answers 200 with the whole blob: skip what we have.
      let skip = response.status === 200 ? at : 0;
      const range = response.headers.get('content-range');
      if (response.status === 206 && !range?.startsWith(`bytes ${at}-`)) {
        await response.body?.cancel().catch(() => undefined);
        throw new TransplantError(
          'E_REGISTRY_PROTOCOL',
          `${this.location}: asked for bytes ${at}-, got ${range}`,
          {
            module: this.location,
            operation: 'fetch blob',
          },
        );
      }
      const body = response.body as AsyncIterable<Uint8Array> | null;
      response = undefined;
      try {
        for await (const piece of body ?? []) {
          let bytes = piece;
          if (skip > 0) {
            const n = Math.min(skip, bytes.byteLength);
            skip -= n;
            bytes = bytes.subarray(n);
            if (bytes.byteLength === 0) continue;
          }
          if (at + bytes.byteLength > size) {
            throw new TransplantError(
              'E_REGISTRY_PROTOCOL',
              `${this.location}: ${path} sends more than its ${size} bytes`,
              { module: this.location, operation: 'fetch blob' },
            );
          }
          at += bytes.byteLength;
          yield bytes;
        }
        if (at < size) throw new Error(`the body ended after ${at} of ${size} bytes`);
      } catch (error) {
        if (isTransplantError(error)) throw error;
        if (++cuts > MAX_DOWNLOAD_RESUMES) {
          throw new TransplantError(
            'E_REGISTRY_UNREACHABLE',
            `${this.location}: fetch blob: ${(error as Error).message} (${cuts - 1} times continued)`,
            { module: this.location, operation: 'fetch blob', cause: error, details: { status: 0 } },
          );
        }
        await sleep(this.backoff(cuts - 1));
      }
    }
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
