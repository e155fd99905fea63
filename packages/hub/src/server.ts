import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Composer } from '@transplant/composer';
import {
  MODULE_KIND_IDS,
  REPORT_FILE_NAME,
  TransplantError,
  isExactVersion,
  isModuleName,
  isTransplantError,
} from '@transplant/core';
import { ATTACHMENT_KIND, type Registry } from '@transplant/registry';
import { AttachmentReads } from './attachments';
import { readAsset } from './assets';
import { CatalogReader, matrixOf, type Catalog, type HubEntry, type HubVersion } from './catalog';
import { GraphViews } from './graph-view';
import { HttpError } from './http-error';
import { attachmentPage, cardPage, errorPage, lineagePage, listPage, matrixPage } from './pages';
import { LinkExports, RESIZE_JS, RUN_JS, runPage } from './run-in-browser';

/** Limits on what a request may ask and a response may carry (docs/hub.md, safety). */
export const HUB_LIMITS = {
  /** The request line's target, path and query together. */
  urlBytes: 2048,
  /** All request headers (Node answers 431 above it). */
  headerBytes: 8192,
  /** The search text. */
  queryChars: 100,
  /** An attachment's text rendered on a page (longer text is cut). */
  attachmentBytes: 1 << 20,
  /** An attachment the hub reads at all (a page, a picture, a download); larger ones are refused, unread. */
  attachmentReadBytes: 64 << 20,
  /** Attachments kept read and decoded, by digest (a report's page and its pictures read it once). */
  attachmentCacheBytes: 128 << 20,
  /** A module's weights exported for the browser. */
  exportBytes: 64 << 20,
} as const;

export interface HubOptions {
  readonly registry: Registry;
  /** Where the registry is, as pages show it; credentials are removed here (see {@link displayLocation}). */
  readonly location: string;
  /**
   * A composer on the same registry (the platform's plugins): explanatory graphs open in their
   * browser view and networks run in the browser only with one.
   */
  readonly composer?: Composer;
  /** Written into exported model.json files. */
  readonly generatedBy?: string;
  /** Overrides of {@link HUB_LIMITS} (tests). */
  readonly limits?: { readonly exportBytes?: number; readonly attachmentReadBytes?: number };
}

export interface HubHandle {
  readonly url: string;
  readonly server: Server;
  /** Stops accepting, ends open connections, removes the hub's temporary folder. */
  readonly close: () => Promise<void>;
}

/** A registry location without credentials: `oci://user:secret@host/ns` → `oci://host/ns`. */
export function displayLocation(location: string): string {
  return location.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1');
}

/** Credentials removed from every URL in a message. */
const scrub = (message: string): string => displayLocation(message).replace(/\/\/[^/\s@]*@/g, '//');

const bad = (message: string) => new HttpError(400, message);
const notFound = (message = 'no such page') => new HttpError(404, message);

/** The path's segments, percent-decoded; anything that could name a file elsewhere is refused. */
function segments(pathname: string): string[] {
  const raw = pathname.split('/').slice(1);
  return raw.map((s, i) => {
    let decoded: string;
    try {
      decoded = decodeURIComponent(s);
    } catch {
      throw bad('malformed percent-encoding in the path');
    }
    if (decoded === '.' || decoded === '..' || /[/\\\0]/.test(decoded))
      throw bad('a path segment may not be ".", ".." or hold a slash or NUL');
    // An empty segment only as the last one (a trailing slash).
    if (decoded === '' && i < raw.length - 1) throw bad('empty path segment');
    return decoded;
  });
}

const moduleName = (value: string | undefined): string => {
  if (!isModuleName(value)) throw bad(`"${String(value).slice(0, 80)}" is not a module name`);
  return value;
};

const exactVersion = (value: string): string => {
  if (!isExactVersion(value)) throw bad(`"${value.slice(0, 80)}" is not an exact version`);
  return value;
};

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
} as const;

/**
 * Only this origin's scripts; the graph browser (a page the explanatory-graph package writes,
 * with its own inline script) gets `inlineScript`. tfjs compiles WebGL shaders, not JavaScript.
 */
const csp = (inlineScript = false, evalScript = false) =>
  `default-src 'none'; script-src 'self'${inlineScript ? " 'unsafe-inline'" : ''}${evalScript ? " 'unsafe-eval'" : ''}; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'`;

interface Reply {
  readonly status?: number;
  readonly type: string;
  readonly body: Buffer | string;
  readonly inlineScript?: boolean;
  /** The run page: tf.min.js builds functions from strings (its global-object and kernel helpers). */
  readonly evalScript?: boolean;
  readonly cache?: string;
  /** Served as a download under this file name (a blob the browser should not show). */
  readonly download?: string;
}

/** How long a catalog read serves further requests (yanks and publishes show after at most this). */
export const CATALOG_TTL_MS = 2000;

const html = (body: string, status = 200): Reply => ({ status, type: 'text/html; charset=utf-8', body });

/** The request handler: every route, its checks, and the error pages. */
export class Hub {
  private readonly catalog: CatalogReader;
  private readonly location: string;
  private readonly graphs: GraphViews | undefined;
  private readonly exports: LinkExports | undefined;
  private readonly attachments = new AttachmentReads(HUB_LIMITS.attachmentCacheBytes);
  private cached: { at: number; catalog: Promise<Catalog> } | undefined;
  /** The `Host` header values a request may carry (lower case), set once the server listens. */
  private hosts: ReadonlySet<string> = new Set();

  constructor(
    private readonly options: HubOptions,
    scratch: string,
  ) {
    this.catalog = new CatalogReader(options.registry);
    this.location = displayLocation(options.location);
    this.graphs = options.composer ? new GraphViews(options.composer, join(scratch, 'graphs')) : undefined;
    this.exports = options.composer
      ? new LinkExports(
          options.composer,
          options.registry,
          join(scratch, 'exports'),
          options.generatedBy ?? 'transplant-hub',
        )
      : undefined;
  }

  /**
   * The hub listens on `host:port`: from now on it answers only requests whose `Host` names that
   * address, a loopback name (`localhost`, `127.0.0.1`, `[::1]`) or, bound to every interface, one
   * of this machine's addresses, with that port — a page on another site that rebinds its DNS
   * name to this address is refused (421).
   */
  listening(host: string, port: number): void {
    const bracket = (h: string) => (h.includes(':') ? `[${h}]` : h);
    const names = new Set(['localhost', '127.0.0.1', '[::1]', bracket(host.toLowerCase())]);
    if (host === '0.0.0.0' || host === '::')
      for (const list of Object.values(networkInterfaces()))
        for (const a of list ?? []) names.add(bracket(a.address.toLowerCase().replace(/%.*$/, '')));
    const hosts = new Set<string>();
    for (const name of names) {
      hosts.add(`${name}:${port}`);
      if (port === 80) hosts.add(name);
    }
    this.hosts = hosts;
  }

  /** Answers one request; never throws (an unexpected failure is a 500 page without details). */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let reply: Reply;
    try {
      reply = await this.route(req);
    } catch (error) {
      reply = this.failure(error);
    }
    const body = typeof reply.body === 'string' ? Buffer.from(reply.body) : reply.body;
    res.writeHead(reply.status ?? 200, {
      ...SECURITY_HEADERS,
      'content-security-policy': csp(reply.inlineScript, reply.evalScript),
      'content-type': reply.type,
      'content-length': body.byteLength,
      'cache-control': reply.cache ?? 'no-store',
      ...(reply.download ? { 'content-disposition': `attachment; filename="${reply.download}"` } : {}),
      ...((reply.status ?? 200) === 405 ? { allow: 'GET, HEAD' } : {}),
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  private failure(error: unknown): Reply {
    if (error instanceof HttpError)
      return html(errorPage(error.status, scrub(error.message), this.location), error.status);
    if (isTransplantError(error, 'E_MODULE_NOT_FOUND') || isTransplantError(error, 'E_VERSION_NOT_FOUND'))
      return html(errorPage(404, displayLocation(error.message), this.location), 404);
    if (isTransplantError(error, 'E_MODULE_REF_INVALID'))
      return html(errorPage(400, displayLocation(error.message), this.location), 400);
    // A damaged registry, a store that cannot be reached: the code and message, scrubbed of credentials.
    // A TransplantError's message already starts with its code: it is not written twice.
    let message = 'internal error';
    if (error instanceof Error && 'code' in error) {
      const code = String(error.code);
      message = error.message.startsWith(`${code}: `) ? error.message : `${code}: ${error.message}`;
    }
    return html(errorPage(500, scrub(message), this.location), 500);
  }

  private async route(req: IncomingMessage): Promise<Reply> {
    const target = req.url ?? '';
    const host = (req.headers.host ?? '').toLowerCase();
    if (!this.hosts.has(host))
      throw new HttpError(
        421,
        `this hub does not answer for the host "${host.slice(0, 80)}": open it by the address it listens on`,
      );
    if (Buffer.byteLength(target) > HUB_LIMITS.urlBytes)
      throw new HttpError(414, `the request target is longer than ${HUB_LIMITS.urlBytes} bytes`);
    if (req.method !== 'GET' && req.method !== 'HEAD')
      throw new HttpError(405, `${req.method} is not allowed: the hub is read-only`);
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > 0 || req.headers['transfer-encoding'])
      throw new HttpError(413, 'a GET request carries no body');
    if (!target.startsWith('/')) throw bad('the request target must be a path');
    // The raw path, not URL's: it would resolve `..` and `%2e%2e` before any check could see them.
    const at = target.indexOf('?');
    const url = {
      pathname: at < 0 ? target : target.slice(0, at),
      search: at < 0 ? '' : target.slice(at),
      searchParams: new URLSearchParams(at < 0 ? '' : target.slice(at + 1)),
    };
    const path = segments(url.pathname);
    const [head, ...rest] = path;
    switch (head) {
      case '':
        if (rest.length > 0) break;
        return html(listPage(await this.read(), this.listQuery(url.searchParams), this.location));
      case 'favicon.ico':
        // Browsers ask for it on every page: an empty answer, not an error.
        if (rest.length > 0) break;
        return { status: 204, type: 'image/x-icon', body: '' };
      case 'lineage':
        if (rest.length > 0) break;
        this.noQuery(url);
        return html(lineagePage(await this.read(), this.location));
      case 'assets': {
        if (rest.length !== 1) break;
        this.noQuery(url);
        const asset = await readAsset(rest[0]!, { 'run.js': RUN_JS, 'resize-linear.js': RESIZE_JS });
        if (!asset) throw notFound(`no asset "${rest[0]!.slice(0, 80)}"`);
        return { type: asset.type, body: asset.body, cache: 'public, max-age=3600' };
      }
      case 'generic': {
        if (rest.length !== 1) break;
        this.noQuery(url);
        const entry = await this.entry(moduleName(rest[0]));
        const matrix = matrixOf(entry.current.manifest);
        if (!matrix) throw notFound(`${entry.name}@${entry.shown} is not a generic network`);
        return html(matrixPage(matrix, this.location));
      }
      case 'modules':
        this.noQuery(url);
        return this.modules(rest, req.headers['sec-fetch-site'] === 'cross-site', req.method === 'HEAD');
    }
    throw notFound(`no page at ${url.pathname.slice(0, 200)}`);
  }

  private async modules(rest: string[], crossSite: boolean, head: boolean): Promise<Reply> {
    const [name, version, section, ...more] = rest;
    // Exports, graph views and attachment bytes cost CPU, disk and memory: another site's page may
    // not start them (a page of the hub itself is same-origin, a link typed or followed is none).
    if (
      crossSite &&
      (section === 'model' ||
        (section === 'attachments' &&
          (more[0] === 'explanatory-graph' || (more.length > 1 && more[1] !== ''))))
    )
      throw new HttpError(
        403,
        'another site may not ask this hub for exports, graph views or attachment files',
      );
    const catalog = await this.read();
    const entry = this.found(catalog, moduleName(name));
    if (version === undefined) return html(this.card(catalog, entry, entry.current));
    const exact = exactVersion(version);
    const shown = entry.versions.find((v) => v.version === exact);
    if (!shown) throw notFound(`${entry.name}@${exact} is not published here`);
    if (section === undefined) return html(this.card(catalog, entry, shown));
    const ref = `${entry.name}@${exact}`;
    switch (section) {
      case 'attachments': {
        const [kind, ...file] = more;
        if (kind === undefined || !ATTACHMENT_KIND.test(kind) || kind.length > 64)
          throw bad('not an attachment kind');
        const attachment = shown.attachments.find((a) => a.kind === kind);
        if (!attachment) throw notFound(`${ref} has no ${kind} attachment`);
        if (kind === 'explanatory-graph' && this.graphs) {
          const view = await this.graphs.open(ref, attachment.digest, this.options.registry);
          const served = await view.file(file.join('/'));
          if (!served) throw notFound(`the graph view has no ${file.join('/').slice(0, 100)}`);
          return { ...served, inlineScript: served.type.startsWith('text/html') };
        }
        // The page (…/KIND/), the blob itself (…/KIND/raw) or a report's picture (…/KIND/files/NAME).
        const what =
          file.length === 0 || (file.length === 1 && file[0] === '')
            ? 'page'
            : file.length === 1 && file[0] === 'raw'
              ? 'raw'
              : file.length === 2 && file[0] === 'files'
                ? 'file'
                : undefined;
        if (!what) throw notFound(`no page at /modules/${rest.join('/').slice(0, 200)}`);
        if (what === 'file' && !REPORT_FILE_NAME.test(file[1]!)) throw bad('not a picture name');
        const most = this.options.limits?.attachmentReadBytes ?? HUB_LIMITS.attachmentReadBytes;
        if (attachment.size > most)
          throw new HttpError(
            413,
            `the ${kind} attachment of ${ref} has ${attachment.size} bytes; the hub reads at most ${most}`,
          );
        const read = await this.attachments.read(this.options.registry, ref, kind, attachment.digest, most);
        if (what === 'page')
          return html(attachmentPage(ref, kind, read, this.location, { limit: HUB_LIMITS.attachmentBytes }));
        // Not cached by the browser: a replaced attachment keeps its address.
        if (what === 'raw')
          return read.png
            ? { type: 'image/png', body: Buffer.from(read.bytes) }
            : {
                type: 'application/octet-stream',
                body: Buffer.from(read.bytes),
                download: `${entry.name}-${exact}-${kind}.bin`,
              };
        if (!read.report) throw notFound(`the ${kind} attachment of ${ref} is not a report`);
        const picture = read.report.files.find((f) => f.name === file[1]);
        if (!picture) throw notFound(`the ${kind} report of ${ref} has no picture ${file[1]}`);
        return { type: 'image/png', body: Buffer.from(picture.bytes) };
      }
      case 'run': {
        if (more.length > 0 || !this.exports) break;
        const info = this.exports.linksOf(shown.manifest);
        if (info.length === 0) throw notFound(`${ref} is not a network`);
        return { ...html(runPage(ref, info, this.location)), evalScript: true };
      }
      case 'model': {
        // model/<link index>/model.json | weights.bin
        if (!this.exports || more.length !== 2) break;
        const [index, file] = more as [string, string];
        if (!/^(0|[1-9][0-9]{0,3})$/.test(index)) throw bad('not a link index');
        if (head && !this.exports.started(shown.manifest, Number(index)))
          throw new HttpError(405, 'HEAD does not start an export: GET the file first');
        const exported = await this.exports.file(
          shown.manifest,
          Number(index),
          file,
          this.options.limits?.exportBytes ?? HUB_LIMITS.exportBytes,
        );
        if (!exported) throw notFound(`no ${file.slice(0, 40)} for link ${index} of ${ref}`);
        return exported;
      }
    }
    throw notFound(`no page at /modules/${rest.join('/').slice(0, 200)}`);
  }

  private card(catalog: Catalog, entry: HubEntry, version: HubVersion): string {
    return cardPage(catalog, entry, version, this.location, { canRun: this.exports !== undefined });
  }

  private found(catalog: Catalog, name: string): HubEntry {
    const broken = catalog.broken.get(name);
    if (broken)
      throw new HttpError(500, `${name} cannot be read: ${broken.broken.code}: ${broken.broken.message}`);
    const entry = catalog.byName.get(name);
    if (!entry) throw notFound(`"${name}" is not published here`);
    return entry;
  }

  private async entry(name: string): Promise<HubEntry> {
    return this.found(await this.read(), name);
  }

  /**
   * The catalog, read again at most every {@link CATALOG_TTL_MS}: a page's assets and a burst of
   * requests share one read (an OCI registry answers each index read over the network).
   */
  private read(): Promise<Catalog> {
    const now = Date.now();
    if (!this.cached || now - this.cached.at > CATALOG_TTL_MS) {
      const catalog = this.catalog.read();
      this.cached = { at: now, catalog };
      catalog.catch(() => {
        if (this.cached?.catalog === catalog) this.cached = undefined;
      });
    }
    return this.cached.catalog;
  }

  private listQuery(params: URLSearchParams): { q: string; kind: string } {
    for (const key of params.keys())
      if (key !== 'q' && key !== 'kind') throw bad(`unknown query parameter "${key.slice(0, 40)}"`);
    if (params.getAll('q').length > 1 || params.getAll('kind').length > 1)
      throw bad('a query parameter is given twice');
    const q = (params.get('q') ?? '').trim().toLowerCase();
    if (q.length > HUB_LIMITS.queryChars)
      throw bad(`the search is longer than ${HUB_LIMITS.queryChars} characters`);
    const kind = params.get('kind') ?? '';
    if (kind !== '' && !(MODULE_KIND_IDS as readonly string[]).includes(kind))
      throw bad(`"${kind.slice(0, 40)}" is not a module kind`);
    return { q, kind };
  }

  private noQuery(url: { readonly search: string }): void {
    if (url.search !== '') throw bad('this page takes no query parameters');
  }
}

/**
 * Starts the hub on `host:port` (port 0: any free port) and resolves once it listens. Binds to
 * loopback unless told otherwise.
 */
export async function startHub(
  options: HubOptions & { readonly host?: string; readonly port?: number },
): Promise<HubHandle> {
  // The temporary folder is made once the server listens: a failed start leaves nothing behind.
  const ready: { hub?: Hub } = {};
  const server = createServer(
    { maxHeaderSize: HUB_LIMITS.headerBytes, requestTimeout: 60_000 },
    (req, res) => {
      // Between listening and the folder being made: a moment, answered "try again".
      if (ready.hub) void ready.hub.handle(req, res);
      else res.writeHead(503, { 'retry-after': '1', 'content-length': 0 }).end();
    },
  );
  // A malformed request line or oversized headers: Node answers 400 / 431 and closes.
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    if (!socket.writable) return socket.destroy();
    const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
    socket.end(
      `HTTP/1.1 ${status} ${status === 431 ? 'Request Header Fields Too Large' : 'Bad Request'}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`,
    );
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    const refused = (error: NodeJS.ErrnoException) => reject(listenError(error, host, options.port ?? 0));
    server.once('error', refused);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', refused);
      resolve();
    });
  });
  let scratch: string;
  try {
    scratch = await mkdtemp(join(tmpdir(), 'transplant-hub-'));
  } catch (error) {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    throw error;
  }
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : (options.port ?? 0);
  const hub = new Hub(options, scratch);
  hub.listening(host, port);
  ready.hub = hub;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${port}/`,
    server,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await rm(scratch, { recursive: true, force: true });
    },
  };
}

/** A port in use, an address not of this machine, a privileged port: E_PORT_UNAVAILABLE saying which. */
function listenError(error: NodeJS.ErrnoException, host: string, port: number): Error {
  const why: Record<string, string> = {
    EADDRINUSE: 'is already in use',
    EADDRNOTAVAIL: 'is not an address of this machine',
    EACCES: 'needs privileges this process lacks',
    EPERM: 'needs privileges this process lacks',
  };
  const reason = error.code ? why[error.code] : undefined;
  if (!reason) return error;
  const shown = host.includes(':') ? `[${host}]` : host;
  return new TransplantError('E_PORT_UNAVAILABLE', `${shown}:${port} ${reason} (${error.code})`, {
    operation: 'hub',
    cause: error,
  });
}
