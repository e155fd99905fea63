import type { Port } from '@transplant/core';
import type { AttachmentRead } from './attachments';
import { lineageOf, matrixOf, type Catalog, type HubEntry, type HubMatrix, type HubVersion } from './catalog';
import { esc, facts, jsonScript, metric, moduleHref, page, seg } from './html';
import { renderReport } from './markdown';

/** At most this many rows on the list page (a registry can be large; the search narrows it). */
export const LIST_LIMIT = 500;

export interface ListQuery {
  readonly q: string;
  readonly kind: string;
}

const matches = (e: HubEntry, { q, kind }: ListQuery): boolean =>
  (kind === '' || e.kind === kind) &&
  (q === '' ||
    [e.name, e.kind, e.task ?? '', e.category ?? '', e.family].some((f) => f.toLowerCase().includes(q)));

/** The searchable list of networks and modules. */
export function listPage(catalog: Catalog, query: ListQuery, location: string): string {
  const found = catalog.entries.filter((e) => matches(e, query));
  const shown = found.slice(0, LIST_LIMIT);
  const kinds = [...new Set(catalog.entries.map((e) => e.kind))].sort();
  const rows = shown.map(
    (
      e,
    ) => `<tr data-search="${esc([e.name, e.kind, e.task ?? '', e.category ?? '', e.family].join(' ').toLowerCase())}">
<td><a href="${moduleHref(e.name)}">${esc(e.name)}</a>${e.generic ? ` <a class="tag" href="/generic/${seg(e.name)}">generic</a>` : ''}${e.via ? ' <span class="tag">via</span>' : ''}</td>
<td>${esc(e.kind)}</td><td>${esc(e.task ?? '')}</td><td>${esc(e.category ?? '')}</td>
<td>${e.latest ? esc(e.latest) : `<span class="warn">none (${esc(e.shown)})</span>`}</td>
<td>${e.yanked > 0 ? `<span class="warn">${e.yanked} yanked</span>` : ''}</td>
<td>${e.metric ? `${esc(e.metric.name)} ${metric(e.metric.value)}` : ''}</td></tr>`,
  );
  const body = `<h1>Modules and networks</h1>
<form class="search" method="get" action="/">
<input type="search" name="q" id="q" value="${esc(query.q)}" placeholder="search name, kind, task, category, family" maxlength="100" autocomplete="off">
<select name="kind" id="kind"><option value="">any kind</option>${kinds.map((k) => `<option${k === query.kind ? ' selected' : ''}>${esc(k)}</option>`).join('')}</select>
<button type="submit">Search</button></form>
<p class="count" id="count">${found.length} of ${catalog.entries.length}${found.length > shown.length ? ` (first ${shown.length} shown)` : ''}</p>
<table class="list" id="modules"><thead><tr><th>name</th><th>kind</th><th>task</th><th>category</th><th>latest</th><th>yanked</th><th>key metric</th></tr></thead>
<tbody>${rows.join('\n')}${[...catalog.broken.values()]
    .filter((b) => query.kind === '' && (query.q === '' || b.name.includes(query.q)))
    .map(
      (b) =>
        `\n<tr class="broken"><td><a href="${moduleHref(b.name)}">${esc(b.name)}</a> <span class="warn">broken</span></td><td colspan="6"><code>${esc(b.broken.code)}</code> ${esc(b.broken.message)}</td></tr>`,
    )
    .join('')}</tbody></table>`;
  return page({ title: 'Modules', location, body, scripts: ['list.js'] });
}

const portText = (p: Port): string =>
  `${esc(p.role)} ${esc(p.dtype)} [${p.shape.map((d) => (d === null ? '?' : String(d))).join(', ')}], ${p.channels} channels, stride ${p.stride}, values ${esc(p.values)}`;

/** The module card: one version's manifest, metrics, data, provenance; all versions; dependents. */
export function cardPage(
  catalog: Catalog,
  entry: HubEntry,
  version: HubVersion,
  location: string,
  options: { readonly canRun: boolean },
): string {
  const m = version.manifest;
  const ref = `${entry.name}@${version.version}`;
  const dependents = catalog.dependents.get(entry.name) ?? [];
  const link = (name: string, v?: string) =>
    catalog.byName.has(name)
      ? `<a href="${moduleHref(name, v)}">${esc(name)}${v ? `@${esc(v)}` : ''}</a>`
      : esc(name);
  const metrics = m.card.metrics.map(
    (x) => `<tr><td>${esc(x.name)}</td><td class="num">${metric(x.value)}</td><td>${esc(x.on)}</td></tr>`,
  );
  const versions = entry.versions.map(
    (
      v,
    ) => `<tr${v.version === version.version ? ' class="current"' : ''}><td><a href="${moduleHref(entry.name, v.version)}">${esc(v.version)}</a>${v.version === entry.latest ? ' <span class="tag">latest</span>' : ''}${v.yanked ? ' <span class="warn">yanked</span>' : ''}</td>
<td><code>${esc(v.weightsDigest)}</code></td><td><code>${esc(v.manifestDigest)}</code></td><td class="num">${v.weightsSize}</td><td>${esc(v.publishedAt)}</td></tr>`,
  );
  const attachments = version.attachments.map(
    (a) =>
      `<li><a href="${moduleHref(entry.name, version.version)}/attachments/${seg(a.kind)}/">${esc(a.kind)}</a> <code>${esc(a.digest)}</code> ${a.size} bytes, ${esc(a.attachedAt)}</li>`,
  );
  const dependencies = m.dependencies.map(
    (d) =>
      `<tr><td>${link(d.name, d.pinned?.version)}</td><td>${esc(d.kind)}</td><td>${esc(d.range)}</td><td>${d.pinned ? `<code>${esc(d.pinned.digest)}</code>` : ''}</td></tr>`,
  );
  const links =
    m.kind === 'network' ? ((m.options['links'] ?? []) as { category: string; task: string }[]) : [];
  const body = `<h1>${esc(entry.name)} <span class="version">${esc(version.version)}</span>${version.yanked ? ' <span class="warn">yanked</span>' : ''}</h1>
<p class="summary">${esc(m.card.summary ?? '')}</p>
${entry.generic ? `<p><a class="button" href="/generic/${seg(entry.name)}">generic network matrix</a></p>` : ''}
${options.canRun && m.kind === 'network' && links.length > 0 ? `<p><a class="button" id="run-link" href="${moduleHref(entry.name, version.version)}/run">run in the browser</a></p>` : ''}
<section><h2>Manifest</h2>${facts([
    ['reference', `<code>${esc(ref)}</code>`],
    ['kind', esc(m.kind)],
    ['task', esc(m.task ?? '—')],
    ['category', esc(m.category ?? '—')],
    ['plugin family', `${esc(m.family.name)}@${esc(m.family.version)}`],
    ['input port', portText(m.ports.input)],
    ['output port', portText(m.ports.output)],
    [
      'weights',
      `<code>${esc(m.weights.digest)}</code>, ${m.weights.size} bytes, ${m.weights.tensors} tensors, ${m.weights.parameters} parameters`,
    ],
    ['generated by', esc(m.generatedBy)],
  ])}
<h3>Family options</h3><pre class="options">${esc(JSON.stringify(m.options, null, 2))}</pre></section>
<section><h2>Metrics</h2>${metrics.length ? `<table id="metrics"><thead><tr><th>metric</th><th>value</th><th>protocol (data, seeds, split)</th></tr></thead><tbody>${metrics.join('')}</tbody></table>` : '<p>none recorded</p>'}</section>
<section><h2>Data and provenance</h2>${facts([
    ['data', esc(m.provenance.data)],
    ['seed', esc(m.provenance.seed)],
    ['steps', esc(m.provenance.steps)],
    ['back end', esc(m.provenance.backend)],
    ['wall time', m.provenance.wallSeconds === undefined ? '—' : `${esc(m.provenance.wallSeconds)} s`],
    ['created', esc(m.provenance.createdAt)],
  ])}</section>
<section><h2>Dependencies</h2>${dependencies.length ? `<table id="dependencies"><thead><tr><th>module</th><th>kind</th><th>range</th><th>pinned digest</th></tr></thead><tbody>${dependencies.join('')}</tbody></table>` : '<p>none</p>'}</section>
<section><h2>Dependents</h2>${
    dependents.length
      ? `<ul id="dependents">${dependents
          .map((d) => {
            const [n, v] = d.split('@') as [string, string];
            return `<li>${link(n, v)}</li>`;
          })
          .join('')}</ul>`
      : '<p>none in this registry</p>'
  }</section>
<section><h2>Attachments</h2>${attachments.length ? `<ul id="attachments">${attachments.join('')}</ul>` : '<p>none</p>'}</section>
<section><h2>Versions</h2><table id="versions"><thead><tr><th>version</th><th>weights digest</th><th>manifest digest</th><th>bytes</th><th>published</th></tr></thead><tbody>${versions.join('')}</tbody></table></section>`;
  return page({ title: ref, location, body });
}

/** The lineage graph: the data inline as JSON, drawn by cytoscape + dagre (served locally). */
export function lineagePage(catalog: Catalog, location: string): string {
  const lineage = lineageOf(catalog);
  const body = `<h1>Lineage</h1>
<p>Adapters → the category and task modules they pin; networks → the modules they compose. Transplants (<code>via</code>) and generic networks are marked. Click a node for its card.</p>
<p class="legend"><span class="k-network">network</span><span class="k-generic">generic network</span><span class="k-via">via transplant</span><span class="k-category">category</span><span class="k-task">task</span><span class="k-adapter">adapter</span></p>
<div id="lineage" data-nodes="${lineage.nodes.length}" data-edges="${lineage.edges.length}"></div>
${jsonScript('lineage-data', lineage)}`;
  return page({
    title: 'Lineage',
    location,
    body,
    scripts: ['cytoscape.min.js', 'cytoscape-dagre.min.js', 'lineage.js'],
  });
}

/** The generic network matrix: categories × tasks, each link's adapter, metric and guard digest. */
export function matrixPage(matrix: HubMatrix, location: string): string {
  const cell = (category: string, task: string) => {
    const c = matrix.cells.find((x) => x.category === category && x.task === task);
    if (!c) return '<td class="empty">—</td>';
    return `<td class="link"><div>${c.adapter ? `adapter <a href="${moduleHref(c.adapter)}">${esc(c.adapter)}</a>` : 'direct'}</div>
<div class="metric">${c.metric ? `${esc(c.metric.name)} ${metric(c.metric.value)}` : 'no metric'}</div>
<div class="guard" title="guard digest">${c.guard ? `<code>${esc(c.guard)}</code>` : 'no guard'}</div></td>`;
  };
  const body = `<h1>${esc(matrix.name)} <span class="version">${esc(matrix.version)}</span></h1>
<p>Generic network: ${matrix.categories.length} category modules × ${matrix.tasks.length} task modules, ${matrix.cells.length} links. The guard is the digest of each link's outputs on the probe set <code>${esc(matrix.guard.probe.seed)}</code> × ${matrix.guard.probe.count} (back end ${esc(matrix.guard.backend)}); a change that moves any of them is refused.</p>
<table class="matrix" id="matrix"><thead><tr><th>category \\ task</th>${matrix.tasks.map((t) => `<th><a href="${moduleHref(t)}">${esc(t)}</a></th>`).join('')}</tr></thead>
<tbody>${matrix.categories.map((c) => `<tr><th><a href="${moduleHref(c)}">${esc(c)}</a>${matrix.sources[c] ? `<div class="source">from ${esc(matrix.sources[c])}</div>` : ''}</th>${matrix.tasks.map((t) => cell(c, t)).join('')}</tr>`).join('\n')}</tbody></table>
<p><a href="${moduleHref(matrix.name, matrix.version)}">module card</a></p>`;
  return page({ title: `${matrix.name} matrix`, location, body });
}

export { matrixOf };

/** Whether decoded text starts like a binary file: control characters or bytes that are not UTF-8. */
function looksBinary(text: string): boolean {
  for (let i = 0; i < Math.min(text.length, 4096); i++) {
    const c = text.charCodeAt(i);
    if (c < 9 || (c > 13 && c < 32) || c === 0xfffd) return true;
  }
  return false;
}

/**
 * An attachment other than a graph: a report bundle as its Markdown with its pictures, a PNG as a
 * picture (served beside the page at `raw`, never inlined), JSON as a table of its fields, other
 * text as text (cut at `limit` bytes); anything else is offered as a download.
 */
export function attachmentPage(
  ref: string,
  kind: string,
  { digest, bytes, png, report }: AttachmentRead,
  location: string,
  { limit }: { readonly limit: number },
): string {
  const [name, version] = ref.split('@') as [string, string];
  const here = `${moduleHref(name, version)}/attachments/${seg(kind)}/`;
  const head = `<h1>${esc(kind)} of ${esc(ref)}</h1><p><code>${esc(digest)}</code>, ${bytes.byteLength} bytes · <a href="${here}raw" id="raw">download</a></p>`;
  let content: string;
  if (png) {
    content = `<img class="attachment" alt="${esc(kind)}" src="${here}raw">`;
  } else if (report) {
    content = `<article class="report" id="report">${renderReport(report, `${here}files/`)}</article>`;
  } else {
    const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes.subarray(0, limit));
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    content =
      parsed !== undefined && typeof parsed === 'object' && parsed !== null
        ? renderJson(parsed)
        : looksBinary(text)
          ? '<p>Not text: use the download link.</p>'
          : `<pre class="report">${esc(text)}${bytes.byteLength > limit ? '\n…' : ''}</pre>`;
  }
  return page({ title: `${kind} of ${ref}`, location, body: `${head}<div id="attachment">${content}</div>` });
}

/** A report's JSON as nested definition lists; PNG data URLs and paths to .png render as pictures. */
function renderJson(value: unknown, depth = 0): string {
  if (depth > 8) return '…';
  if (Array.isArray(value))
    return `<ol>${value
      .slice(0, 200)
      .map((v) => `<li>${renderJson(v, depth + 1)}</li>`)
      .join('')}${value.length > 200 ? '<li>…</li>' : ''}</ol>`;
  if (typeof value === 'object' && value !== null)
    return `<dl class="facts">${Object.entries(value)
      .map(([k, v]) => `<dt>${esc(k)}</dt><dd>${renderJson(v, depth + 1)}</dd>`)
      .join('')}</dl>`;
  if (typeof value === 'string' && /^data:image\/png;base64,[A-Za-z0-9+/=]+$/.test(value))
    return `<img class="attachment" alt="" src="${esc(value)}">`;
  return esc(typeof value === 'number' && !Number.isInteger(value) ? metric(value) : String(value));
}

/** A coded error page (4xx, 5xx): the status and one line, never a stack or a credential. */
export function errorPage(status: number, message: string, location: string): string {
  return page({
    title: `${status}`,
    location,
    body: `<h1>${status}</h1><p class="error" id="error">${esc(message)}</p><p><a href="/">back to the list</a></p>`,
  });
}
