import { request } from 'node:http';
import { cp, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi, type MockInstance } from 'vitest';
import { encodeReport, sha256Digest } from '@transplant/core';
import type { Composer } from '@transplant/composer';
import { FolderStore, Registry } from '@transplant/registry';
import { moduleFixture } from '@transplant/registry/testing';
import { displayLocation, startHub, type HubHandle } from './server';
import { HUB_FIXTURE, REPORT_PICTURE, snapshotFolder, writeHubRegistry } from './testing';

/** A raw request: the path goes out exactly as written (fetch would resolve `..` itself). */
function raw(
  hub: HubHandle,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{
  status: number;
  body: string;
  bytes: Buffer;
  headers: Record<string, string | string[] | undefined>;
}> {
  const url = new URL(hub.url);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, path, method: options.method ?? 'GET', headers: options.headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const bytes = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, body: bytes.toString('utf8'), bytes, headers: res.headers });
        });
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** A raw request for bytes (a picture, a download), with the headers that say what they are. */
async function rawBytes(hub: HubHandle, path: string) {
  const r = await raw(hub, path);
  return {
    status: r.status,
    body: r.bytes,
    type: r.headers['content-type'],
    disposition: r.headers['content-disposition'],
  };
}

describe('the hub over a folder registry', () => {
  let dir: string;
  let hub: HubHandle;
  let before: Record<string, string>;
  const SECRET = 's3cret-password';

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hub-spec-'));
    const registry = await writeHubRegistry(join(dir, 'registry'));
    before = await snapshotFolder(join(dir, 'registry'));
    // The location as an OCI reference with credentials: no page may show them.
    hub = await startHub({ registry, location: `oci://alice:${SECRET}@registry.example:5000/zoo`, port: 0 });
  });

  afterAll(async () => {
    await hub?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('binds to loopback by default', () => {
    expect(hub.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    // The socket itself, not only the URL it prints.
    const address = hub.server.address();
    expect(typeof address === 'object' && address?.address).toBe('127.0.0.1');
  });

  it('lists every module and network with kind, task, category, latest, yanked and key metric', async () => {
    const { status, body } = await raw(hub, '/');
    expect(status).toBe(200);
    for (const name of [
      'cat-cls',
      'cat-seg',
      'cat-cls-head',
      HUB_FIXTURE.adapter,
      HUB_FIXTURE.via,
      HUB_FIXTURE.generic,
    ])
      expect(body).toContain(`href="/modules/${name}"`);
    expect(body).toContain('error-rate 0.0350'); // cat-cls's card
    expect(body).toContain('1 yanked'); // the adapter's 1.0.1
    expect(body).toContain('href="/generic/cats"');
    const searched = await raw(hub, '/?q=head&kind=task');
    expect(searched.body).toContain('href="/modules/cat-cls-head"');
    expect(searched.body).not.toContain('href="/modules/cat-cls"');
    expect(searched.body).toContain('2 of 9');
  });

  it('shows a module card: manifest, ports, family, metrics with protocol, provenance, versions, dependents, attachments', async () => {
    const { status, body } = await raw(hub, '/modules/cat-seg-features');
    expect(status).toBe(200);
    expect(body).toContain('category-vgg@');
    expect(body).toContain('feature-map float32 [?, 8, 8, 64]');
    expect(body).toContain('href="/modules/cat-seg/1.1.0"'); // a dependent (a network)
    expect(body).toContain(`href="/modules/${HUB_FIXTURE.adapter}/1.0.0"`); // the adapter pins it
    const adapter = await raw(hub, `/modules/${HUB_FIXTURE.adapter}`);
    expect(adapter.body).toContain('synthetic:v1 cat dev 200 + 200, seeds 1');
    expect(adapter.body).toMatch(/1\.0\.1<\/a> <span class="warn">yanked/);
    expect(adapter.body).toContain('<span class="tag">latest</span>');
    const via = await raw(hub, `/modules/${HUB_FIXTURE.via}/1.0.0`);
    expect(via.body).toContain(`/modules/${HUB_FIXTURE.via}/1.0.0/attachments/${HUB_FIXTURE.report}/`);
    const notes = await raw(hub, `/modules/${HUB_FIXTURE.via}/1.0.0/attachments/${HUB_FIXTURE.notes}/`);
    expect(notes.status).toBe(200);
    expect(notes.body).toContain('<dt>devErrorRate</dt><dd>0.0625</dd>');
  });

  it('shows a report attachment as its Markdown, with its pictures served beside the page', async () => {
    const at = `/modules/${HUB_FIXTURE.via}/1.0.0/attachments/${HUB_FIXTURE.report}/`;
    const report = await raw(hub, at);
    expect(report.status).toBe(200);
    expect(report.body).toContain(`<h1>Transplant: ${HUB_FIXTURE.via}@1.0.0</h1>`);
    expect(report.body).toMatch(/<table>[\s\S]*<td>6.25 %<\/td>/);
    const src = `${at}files/${encodeURIComponent(HUB_FIXTURE.reportPicture)}`;
    expect(report.body).toContain(`<img class="attachment" src="${src}" alt="loss"`);
    const picture = await rawBytes(hub, src);
    expect(picture.status).toBe(200);
    expect(picture.type).toBe('image/png');
    expect(picture.body.readUInt32BE(16)).toBe(REPORT_PICTURE.width); // the PNG's own width, from its header
    // The blob itself is a download, never shown as a page.
    const blob = await rawBytes(hub, `${at}raw`);
    expect(blob.type).toBe('application/octet-stream');
    expect(blob.disposition).toBe(
      `attachment; filename="${HUB_FIXTURE.via}-1.0.0-${HUB_FIXTURE.report}.bin"`,
    );
    expect(sha256Digest(blob.body)).toBe(/<code>(sha256:[0-9a-f]{64})<\/code>/.exec(report.body)![1]);
    for (const [path, status] of [
      [`${at}files/other.png`, 404],
      [`${at}files/..%2F..%2Fregistry.png`, 400],
      [`${at}files/x.svg`, 400],
      [`${at}files/a/b.png`, 404],
      [`/modules/${HUB_FIXTURE.via}/1.0.0/attachments/${HUB_FIXTURE.notes}/files/x.png`, 404],
    ] as const)
      expect((await raw(hub, path)).status, path).toBe(status);
  });

  it('draws the lineage from the manifests: adapters pin modules, networks compose them', async () => {
    const { status, body } = await raw(hub, '/lineage');
    expect(status).toBe(200);
    const data = JSON.parse(
      /<script type="application\/json" id="lineage-data">(.*?)<\/script>/s.exec(body)![1]!,
    );
    const edges = (data.edges as { data: { source: string; target: string } }[]).map(
      (e) => `${e.data.source}->${e.data.target}`,
    );
    expect(edges).toContain(`${HUB_FIXTURE.adapter}->cat-seg-features`);
    expect(edges).toContain(`${HUB_FIXTURE.adapter}->cat-cls-head`);
    expect(edges).toContain(`${HUB_FIXTURE.via}->${HUB_FIXTURE.adapter}`);
    expect(edges).toContain('cat-cls->cat-cls-features');
    // A transplant by its manifest (a link through an adapter); the generic network has one too, but is generic.
    const nodes = data.nodes as { data: { id: string; via?: boolean; generic?: boolean } }[];
    expect(nodes.filter((n) => n.data.via).map((n) => n.data.id)).toEqual([HUB_FIXTURE.via]);
    expect(nodes.find((n) => n.data.id === HUB_FIXTURE.generic)?.data.generic).toBe(true);
    expect(body).toContain('/assets/cytoscape.min.js');
    const lib = await raw(hub, '/assets/cytoscape.min.js');
    expect(lib.status).toBe(200);
    expect(lib.body.length).toBeGreaterThan(100_000);
  });

  it('shows the generic network matrix with each link’s metric and guard digest', async () => {
    const { status, body } = await raw(hub, `/generic/${HUB_FIXTURE.generic}`);
    expect(status).toBe(200);
    expect(body).toContain('error-rate 0.0300');
    expect(body).toContain('error-rate 0.0500');
    expect(
      body.match(/<div class="guard" title="guard digest"><code>sha256:[0-9a-f]{64}<\/code>/g),
    ).toHaveLength(3);
    expect(body).toContain(`adapter <a href="/modules/${HUB_FIXTURE.adapter}">`);
    expect(body).toContain('<td class="empty">—</td>'); // cat-cls-features → cat-seg-head: no link
    expect((await raw(hub, '/generic/cat-cls')).status).toBe(404);
  });

  it('answers malformed and hostile requests with 4xx and leaves the registry byte for byte as it was', async () => {
    const cases: [string, number, Parameters<typeof raw>[2]?][] = [
      ['/nope', 404],
      ['/modules/no-such-module', 404],
      ['/modules/cat-cls/9.9.9', 404],
      ['/modules/cat-cls/1.1.0/attachments/explanatory-graph/', 404],
      ['/modules/..', 400],
      ['/modules/../../etc/passwd', 400],
      ['/modules/%2e%2e/%2e%2e/etc/passwd', 400],
      ['/modules/cat-cls%2f..%2f..%2fetc', 400],
      ['/assets/..%2f..%2fpackage.json', 400],
      ['/assets/%2e%2e%5c%2e%2e%5cpackage.json', 400],
      ['/assets/package.json', 404],
      ['/assets/../../package.json', 400],
      ['//etc/passwd', 400],
      ['/modules/Cat-CLS', 400],
      ['/modules/cat%00cls', 400],
      ['/modules/%E0%A4%A', 400],
      [`/modules/${'a'.repeat(300)}`, 400],
      ['/modules/cat-cls/latest', 400],
      ['/modules/cat-cls/1.1.0/attachments/Bad..Kind/', 400],
      ['/modules/cat-cls/1.1.0/run', 404],
      ['/modules/cat-cls/1.1.0/model/0/model.json', 404],
      ['/generic/..', 400],
      ['/?q=' + 'a'.repeat(101), 400],
      ['/?q=' + 'a'.repeat(5000), 414],
      ['/?kind=robot', 400],
      ['/?q=a&q=b', 400],
      ['/?debug=1', 400],
      ['/lineage?x=1', 400],
      ['/', 405, { method: 'POST', body: 'x=1' }],
      ['/', 405, { method: 'DELETE' }],
      ['/modules/cat-cls', 405, { method: 'PUT', body: '{}' }],
      ['/', 413, { method: 'GET', headers: { 'content-length': '3' }, body: 'abc' }],
      ['/', 431, { headers: { 'x-big': 'y'.repeat(20_000) } }],
      ['http://evil.example/../etc/passwd', 400],
    ];
    for (const [path, status, options] of cases) {
      const answer = await raw(hub, path, options);
      expect({ path, status: answer.status }).toEqual({ path, status });
    }
    // The page says why, and the hub still answers.
    expect((await raw(hub, '/modules/..')).body).toContain('may not be');
    expect((await raw(hub, '/')).status).toBe(200);
    expect(await snapshotFolder(join(dir, 'registry'))).toEqual(before);
  });

  it('answers 421 to a Host it does not listen as (DNS rebinding), 403 to cross-site export and graph requests', async () => {
    const port = new URL(hub.url).port;
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, `LOCALHOST:${port}`])
      expect({ host, status: (await raw(hub, '/', { headers: { host } })).status }).toEqual({
        host,
        status: 200,
      });
    for (const host of ['evil.example', `evil.example:${port}`, `127.0.0.1:${Number(port) + 1}`, 'localhost'])
      expect({ host, status: (await raw(hub, '/', { headers: { host } })).status }).toEqual({
        host,
        status: 421,
      });
    expect(
      (await raw(hub, '/modules/cat-cls', { headers: { host: `rebound.example:${port}` } })).body,
    ).toContain('does not answer for the host');
    const crossSite = { 'sec-fetch-site': 'cross-site' };
    for (const path of [
      '/modules/cat-cls/1.1.0/model/0/model.json',
      '/modules/cat-cls/1.1.0/attachments/explanatory-graph/',
    ]) {
      expect((await raw(hub, path, { headers: crossSite })).status).toBe(403);
      expect((await raw(hub, path, { headers: { 'sec-fetch-site': 'same-origin' } })).status).toBe(404);
    }
    expect((await raw(hub, '/modules/cat-cls', { headers: crossSite })).status).toBe(200);
  });

  it('sends a content security policy and no credential on any page', async () => {
    const paths = [
      '/',
      '/lineage',
      '/modules/cat-cls',
      `/generic/${HUB_FIXTURE.generic}`,
      '/nope',
      '/modules/..',
    ];
    for (const path of paths) {
      const { body, headers } = await raw(hub, path);
      expect(body).not.toContain(SECRET);
      expect(body).not.toContain('alice');
      expect(headers['content-security-policy']).toContain("script-src 'self'");
      expect(headers['x-content-type-options']).toBe('nosniff');
    }
    expect((await raw(hub, '/')).body).toContain('oci://registry.example:5000/zoo');
  });
});

describe('the hub over a registry with one damaged module', () => {
  let dir: string;
  let hub: HubHandle;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hub-spec-broken-'));
    await writeHubRegistry(join(dir, 'registry'));
    // A copy whose cat-cls-head index is not JSON: every other page must still work.
    await cp(join(dir, 'registry'), join(dir, 'copy'), { recursive: true });
    const indexDir = join(dir, 'copy', 'modules', 'cat-cls-head');
    for (const file of await readdir(indexDir)) await writeFile(join(indexDir, file), '{ not json');
    hub = await startHub({
      registry: new Registry(new FolderStore(join(dir, 'copy'))),
      location: 'zoo',
      port: 0,
    });
  });

  afterAll(async () => {
    await hub?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('lists it as broken, answers its card with 5xx and the one-line reason, and serves every other page', async () => {
    const list = await raw(hub, '/');
    expect(list.status).toBe(200);
    expect(list.body).toContain('href="/modules/cat-seg"');
    expect(list.body).toMatch(
      /href="\/modules\/cat-cls-head">cat-cls-head<\/a> <span class="warn">broken<\/span>/,
    );
    expect((await raw(hub, '/lineage')).status).toBe(200);
    expect((await raw(hub, '/modules/cat-seg')).status).toBe(200);
    expect((await raw(hub, `/generic/${HUB_FIXTURE.generic}`)).status).toBe(200);
    const card = await raw(hub, '/modules/cat-cls-head');
    expect(card.status).toBeGreaterThanOrEqual(500);
    expect(card.body).toContain('E_REGISTRY_CORRUPT');
    expect(card.body).not.toMatch(/E_REGISTRY_CORRUPT: E_REGISTRY_CORRUPT/);
  });
});

describe('exporting a network for the browser', () => {
  let dir: string;
  let registry: Registry;
  const loads: string[] = [];
  /** A composer whose networks hold an imported TF graph (not exportable); it records each load. */
  const composer = {
    load: async (ref: string) => {
      loads.push(ref);
      await new Promise((r) => setTimeout(r, 20));
      const module = { model: { layers: [{ getClassName: () => 'TransplantTfOp' }] } };
      return {
        network: {
          links: [{ category: 'cat-cls-features', task: 'cat-cls-head' }],
          module: () => module,
          dispose: () => undefined,
        },
      };
    },
  } as unknown as Composer;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hub-spec-export-'));
    registry = await writeHubRegistry(join(dir, 'registry'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('refuses a network over the limit with 413 from its manifests, before loading it', async () => {
    const hub = await startHub({
      registry,
      composer,
      location: 'zoo',
      port: 0,
      limits: { exportBytes: 1000 },
    });
    try {
      const answer = await raw(hub, '/modules/cat-cls/1.1.0/model/0/info.json');
      expect(answer.status).toBe(413);
      expect(answer.body).toMatch(
        /link 0 of cat-cls@1\.1\.0 has \d+ bytes of weights; the hub exports at most 1000/,
      );
      expect((await raw(hub, '/modules/cat-cls/1.1.0/model/0/model.json')).status).toBe(413);
      expect(loads).toEqual([]);
    } finally {
      await hub.close();
    }
  });

  it('answers 422 with the reason for a network that cannot be exported, loading it once', async () => {
    loads.length = 0;
    const hub = await startHub({ registry, composer, location: 'zoo', port: 0 });
    try {
      // HEAD starts no export.
      expect((await raw(hub, '/modules/cat-cls/1.1.0/model/0/model.json', { method: 'HEAD' })).status).toBe(
        405,
      );
      expect(loads).toEqual([]);
      const answers = await Promise.all(
        ['info.json', 'model.json', 'weights.bin'].map((f) =>
          raw(hub, `/modules/cat-cls/1.1.0/model/0/${f}`),
        ),
      );
      for (const answer of answers) {
        expect(answer.status).toBe(422);
        expect(answer.body).toContain('cannot be exported');
        expect(answer.body).toContain('imported TensorFlow graph');
      }
      expect((await raw(hub, '/modules/cat-cls/1.1.0/model/0/info.json')).status).toBe(422);
      expect((await raw(hub, '/modules/cat-cls/1.1.0/model/0/info.json', { method: 'HEAD' })).status).toBe(
        422,
      );
      expect(loads).toEqual(['cat-cls@1.1.0']);
    } finally {
      await hub.close();
    }
  });
});

describe('a module whose texts are hostile markup', () => {
  const SCRIPT = '<script>alert(1)</script>';
  const IMG = '"><img src=x onerror=alert(1)>';
  let reads: MockInstance<Registry['attachment']>;
  let dir: string;
  let hub: HubHandle;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hub-spec-xss-'));
    const registry = new Registry(new FolderStore(join(dir, 'registry')));
    const { manifest, weights } = moduleFixture({ name: 'xss-mod', version: '1.0.0' });
    await registry.publish({
      manifest: {
        ...manifest,
        options: { note: SCRIPT, other: IMG },
        provenance: { ...(manifest['provenance'] as object), data: `${SCRIPT}${IMG}` },
        card: {
          summary: `${SCRIPT}${IMG}`,
          metrics: [{ name: 'error-rate', value: 0.1, on: `${IMG}${SCRIPT}` }],
        },
      },
      weights,
    });
    await registry.attach('xss-mod@1.0.0', {
      kind: 'notes',
      bytes: new TextEncoder().encode(JSON.stringify({ [SCRIPT]: IMG, list: [SCRIPT, { x: IMG }] })),
    });
    // A report whose Markdown carries raw HTML, a script link and a picture from elsewhere.
    await registry.attach('xss-mod@1.0.0', {
      kind: 'transplant-report',
      bytes: encodeReport({
        title: SCRIPT,
        markdown: `# ${SCRIPT}\n\n${IMG}\n\n[click](javascript:alert(1)) ![far](https://evil.example/x.png) ![up](../../x.png)\n`,
        files: [],
      }),
    });
    // A picture attachment larger than the hub reads (limit lowered below).
    await registry.attach('xss-mod@1.0.0', {
      kind: 'big-picture',
      bytes: new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, ...new Uint8Array(4096)]),
    });
    reads = vi.spyOn(registry, 'attachment');
    hub = await startHub({
      registry,
      location: `${dir}/${SCRIPT}`,
      port: 0,
      limits: { attachmentReadBytes: 1024 },
    });
  });

  afterAll(async () => {
    await hub?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('escapes them on every page', async () => {
    const paths = [
      '/',
      `/?q=${encodeURIComponent(IMG)}`,
      '/lineage',
      '/modules/xss-mod',
      '/modules/xss-mod/1.0.0',
      '/modules/xss-mod/1.0.0/attachments/notes/',
      '/modules/xss-mod/1.0.0/attachments/transplant-report/',
      `/modules/${encodeURIComponent(IMG)}`,
    ];
    for (const path of paths) {
      const { body } = await raw(hub, path);
      expect({ path, script: body.includes('<script>alert') }).toEqual({ path, script: false });
      expect({ path, img: /<img src=x|onerror=alert\(1\)>/.test(body) }).toEqual({ path, img: false });
    }
    const card = await raw(hub, '/modules/xss-mod');
    expect(card.status).toBe(200);
    expect(card.body).toContain('&lt;script&gt;alert(1)&lt;/script&gt;'); // shown, as text
    expect((await raw(hub, '/modules/xss-mod/1.0.0/attachments/notes/')).body).toContain('&lt;img src=x');
    const report = (await raw(hub, '/modules/xss-mod/1.0.0/attachments/transplant-report/')).body;
    expect(report).toContain('<h1>&lt;script&gt;alert(1)&lt;/script&gt;</h1>'); // the Markdown's own heading, as text
    expect(report).not.toMatch(/href="javascript:/i); // left as text, never a link
    expect(report).not.toMatch(/src="https:\/\/evil/); // never a source: the alternative text instead
    expect(report).toContain('<span class="missing-picture" title="https://evil.example/x.png">[far]</span>');
    expect(report).not.toMatch(/src="[^"]*\.\.\/\.\.\/x\.png"/);
  });

  it('refuses an attachment larger than it reads, before reading it, and reads another once for all its requests', async () => {
    for (const path of ['', 'raw'])
      expect(await raw(hub, `/modules/xss-mod/1.0.0/attachments/big-picture/${path}`)).toMatchObject({
        status: 413,
        body: expect.stringContaining('has 4104 bytes; the hub reads at most 1024'),
      });
    expect(reads.mock.calls.filter(([, kind]) => kind === 'big-picture')).toEqual([]);
    // Read once, whatever asked for it before (the page test) and however many ask now.
    const notes = '/modules/xss-mod/1.0.0/attachments/notes/';
    const answers = await Promise.all([raw(hub, notes), raw(hub, notes), raw(hub, `${notes}raw`)]);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    expect(reads.mock.calls.filter(([, kind]) => kind === 'notes')).toHaveLength(1);
    // Another site's page may not make the hub read attachment bytes; a link to the page is fine.
    const crossSite = { 'sec-fetch-site': 'cross-site' };
    expect((await raw(hub, `${notes}raw`, { headers: crossSite })).status).toBe(403);
    expect((await raw(hub, notes, { headers: crossSite })).status).toBe(200);
  });
});

describe('starting the hub', () => {
  it('reports a port in use or an address not of this machine as E_PORT_UNAVAILABLE and leaves no temporary folder', async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'hub-spec-tmp-'));
    const saved = process.env['TMPDIR'];
    process.env['TMPDIR'] = tmp; // os.tmpdir() reads it on each call
    try {
      const registry = new Registry(new FolderStore(join(tmp, 'no-registry')));
      const first = await startHub({ registry, location: 'zoo', port: 0 });
      const port = Number(new URL(first.url).port);
      expect(await readdir(tmp)).toHaveLength(1);
      await expect(startHub({ registry, location: 'zoo', port })).rejects.toMatchObject({
        code: 'E_PORT_UNAVAILABLE',
        message: expect.stringMatching(/127\.0\.0\.1:\d+ is already in use \(EADDRINUSE\).*--port 0/),
      });
      // TEST-NET-1: never an address of this machine.
      await expect(startHub({ registry, location: 'zoo', port: 0, host: '192.0.2.1' })).rejects.toMatchObject(
        {
          code: 'E_PORT_UNAVAILABLE',
        },
      );
      expect(await readdir(tmp)).toHaveLength(1);
      await first.close();
      expect(await readdir(tmp)).toEqual([]);
    } finally {
      if (saved === undefined) delete process.env['TMPDIR'];
      else process.env['TMPDIR'] = saved;
      await rm(tmp, { recursive: true, force: true });
    }
  });
});

describe('displayLocation', () => {
  it('removes the user information from a location', () => {
    expect(displayLocation('oci://user:pw@host:5000/ns')).toBe('oci://host:5000/ns');
    expect(displayLocation('https://token@host/ns')).toBe('https://host/ns');
    expect(displayLocation('/tmp/registry')).toBe('/tmp/registry');
  });
});
