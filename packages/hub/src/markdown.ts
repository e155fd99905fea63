import MarkdownIt from 'markdown-it';
import type { ReportBundle } from '@transplant/core';
import { esc, seg } from './html';

/**
 * Report Markdown as HTML, with markdown-it (CommonMark plus tables, the flavour our reports
 * are written in). A report comes from whoever published to the registry, so it is treated as
 * untrusted: raw HTML in it is shown as text (`html: false`), links go through markdown-it's
 * check (no `javascript:`, `vbscript:`, `file:` or non-image `data:` URLs), and a picture shows
 * only when it is one of the bundle's own files — served by the hub at `files/<name>` next to
 * the page. Any other picture (a web address: the page may fetch nothing from elsewhere, and its
 * content security policy would refuse it anyway) becomes its alternative text.
 */
const markdown = new MarkdownIt({ html: false, linkify: false, typographer: false });

/** The bundle's Markdown as HTML; `base` is the URL folder its files are served under (ends with `/`). */
export function renderReport(bundle: ReportBundle, base: string): string {
  return markdown.render(bundle.markdown, { files: new Set(bundle.files.map((f) => f.name)), base });
}

markdown.renderer.rules.image = (tokens, index, options, env) => {
  const token = tokens[index]!;
  const src = String(token.attrGet('src') ?? '');
  const alt = token.children
    ? markdown.renderer.renderInlineAsText(token.children, options, env)
    : token.content;
  const files = env?.['files'] as ReadonlySet<string> | undefined;
  if (!files?.has(src)) return `<span class="missing-picture" title="${esc(src)}">[${esc(alt)}]</span>`;
  return `<img class="attachment" src="${esc(String(env?.['base']) + seg(src))}" alt="${esc(alt)}" loading="lazy">`;
};
