/** HTML escaping and the page frame every hub page shares. */

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes text for an HTML element or a quoted attribute. */
export const esc = (value: unknown): string => String(value).replace(/[&<>"']/g, (c) => ESCAPES[c]!);

/** A path segment, percent-encoded (module names and versions are already safe; this keeps it so). */
export const seg = (value: string): string => encodeURIComponent(value);

export const moduleHref = (name: string, version?: string): string =>
  `/modules/${seg(name)}${version ? `/${seg(version)}` : ''}`;

/**
 * JSON inside a `<script type="application/json">` block: `<` is escaped so that no string in
 * the data can close the element.
 */
export const jsonScript = (id: string, value: unknown): string =>
  `<script type="application/json" id="${esc(id)}">${JSON.stringify(value).replace(/</g, '\\u003c')}</script>`;

export interface PageOptions {
  readonly title: string;
  /** The registry location, credentials removed. */
  readonly location: string;
  readonly body: string;
  /** Scripts served from /assets (no inline script: the content security policy forbids it). */
  readonly scripts?: readonly string[];
}

export function page({ title, location, body, scripts = [] }: PageOptions): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)} · Transplant hub</title>
<link rel="stylesheet" href="/assets/hub.css">
</head><body>
<header><a class="brand" href="/">Transplant hub</a>
<nav><a href="/">Modules</a><a href="/lineage">Lineage</a></nav>
<span class="registry" title="registry">${esc(location)}</span></header>
<main>
${body}
</main>
${scripts.map((s) => `<script src="/assets/${esc(s)}"></script>`).join('\n')}
</body></html>
`;
}

/** A definition list from label/value pairs; values are HTML (escape them first). */
export const facts = (rows: readonly (readonly [string, string])[]): string =>
  `<dl class="facts">${rows.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${v}</dd>`).join('')}</dl>`;

/** A number shown with four decimals, as the CLI prints metrics. */
export const metric = (value: number): string => value.toFixed(4);
