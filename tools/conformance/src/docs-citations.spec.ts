import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * Comments, descriptions and generated report headers cite the repository's own documents
 * (`docs/methods.md §3.5`, `docs/design.md §2`) and nothing a newcomer cannot open. Each cited
 * section must exist as a heading of the cited file.
 */

const ROOT = resolve(import.meta.dirname, '../../..');
const DOCS: Record<string, string> = { methods: 'docs/methods.md', design: 'docs/design.md' };

/** Tracked text files where a citation can hide: code, configs, nx metadata, committed reports. */
function trackedTextFiles(): string[] {
  const out = execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' });
  return out
    .split('\0')
    .filter((path) => /\.(ts|mts|cts|js|mjs|cjs|json|sh|py|md)$/.test(path))
    .filter((path) => !path.startsWith('registry/') && path !== 'package-lock.json');
}

/** Section numbers of a document's headings: `## 3. …` → 3, `### 3.5 …` → 3.5. */
function sections(doc: string): Set<string> {
  const text = readFileSync(join(ROOT, doc), 'utf8');
  return new Set([...text.matchAll(/^#{2,4} (\d+(?:\.\d+)*)\.? /gm)].map((m) => m[1]!));
}

describe('citations of documents', () => {
  const files = trackedTextFiles();

  it('name only files in the repository (docs/…), never an outside methods, design, conventions or back-ends page', () => {
    // Inside docs/ the methods page is a sibling, linked by its bare name; elsewhere it is docs/…
    // The file names of the old outside pages, with or without .md before a section sign.
    const outside =
      /(?<![\w/])(?:(?:methods|DESIGN|CONVENTIONS|BACKENDS)\.md|(?:DESIGN|CONVENTIONS|BACKENDS) §)/;
    const outsideFromDocs =
      /(?<![\w/])(?:(?:DESIGN|CONVENTIONS|BACKENDS)\.md|(?:DESIGN|CONVENTIONS|BACKENDS) §)/;
    const found = files.flatMap((path) => {
      const pattern = path.startsWith('docs/') ? outsideFromDocs : outside;
      return readFileSync(join(ROOT, path), 'utf8')
        .split('\n')
        .flatMap((line, i) => (pattern.test(line) ? [`${path}:${i + 1}: ${line.trim()}`] : []));
    });
    expect(found).toEqual([]);
  });

  it('point at sections that exist', () => {
    const known = Object.fromEntries(Object.entries(DOCS).map(([key, doc]) => [key, sections(doc)]));
    const cite = /docs\/(methods|design)\.md §(\d+(?:\.\d+)*)/g;
    const dangling = files.flatMap((path) =>
      [...readFileSync(join(ROOT, path), 'utf8').matchAll(cite)]
        .filter((m) => !known[m[1]!]!.has(m[2]!))
        .map((m) => `${path}: ${m[0]}`),
    );
    expect(dangling).toEqual([]);
  });
});
