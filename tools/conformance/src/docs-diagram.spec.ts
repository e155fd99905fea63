import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * The architecture diagram of docs/design.md §2 is checked against the workspace: an arrow
 * A --> B there must mean that project A imports (or declares a dependency on) project B, and
 * every such dependency must be drawn unless a longer path already implies it. So the diagram
 * is the transitive reduction of the real graph, compared edge for edge: a drawn edge that does
 * not exist, a missing one, or a redundant one fails with the difference.
 */

const ROOT = resolve(import.meta.dirname, '../../..');
const DESIGN = join(ROOT, 'docs/design.md');
const SCOPE = '@transplant/';

interface Project {
  readonly dir: string;
  readonly packageName: string;
  readonly nxName: string;
}

/** Every workspace project: the folders the root package.json's `workspaces` globs name. */
function workspaceProjects(): Project[] {
  const globs = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { workspaces: string[] })
    .workspaces;
  const dirs = globs.flatMap((glob) => {
    if (!glob.endsWith('/*')) return [join(ROOT, glob)];
    const parent = join(ROOT, glob.slice(0, -2));
    return readdirSync(parent, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => join(parent, entry.name));
  });
  return dirs
    .filter((dir) => existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'project.json')))
    .map((dir) => ({
      dir,
      packageName: (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name: string }).name,
      nxName: (JSON.parse(readFileSync(join(dir, 'project.json'), 'utf8')) as { name: string }).name,
    }));
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (['node_modules', 'dist', 'build', 'results', '.work'].includes(entry.name)) return [];
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.(ts|mts|cts|js|mjs|cjs)$/.test(entry.name) ? [path] : [];
  });
}

/**
 * The workspace packages a project depends on: the module specifiers of its source files
 * (static and dynamic imports, re-exports, require; TypeScript's scanner, so an import written
 * inside a string of a test fixture does not count) and the @transplant/ entries of its
 * package.json (a dependency used only at run time, e.g. a CLI an end-to-end test spawns).
 */
function dependenciesOf(project: Project): Set<string> {
  const found = new Set<string>();
  for (const file of sourceFiles(project.dir)) {
    const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    for (const { fileName } of info.importedFiles) {
      if (fileName.startsWith(SCOPE)) found.add(fileName.split('/').slice(0, 2).join('/'));
    }
  }
  const manifest = JSON.parse(readFileSync(join(project.dir, 'package.json'), 'utf8')) as Record<
    string,
    Record<string, string> | undefined
  >;
  for (const field of ['dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies']) {
    for (const name of Object.keys(manifest[field] ?? {})) if (name.startsWith(SCOPE)) found.add(name);
  }
  found.delete(project.packageName);
  return found;
}

/** The real graph over nx project names. */
function workspaceGraph(): Map<string, Set<string>> {
  const projects = workspaceProjects();
  const byPackage = new Map(projects.map((p) => [p.packageName, p.nxName]));
  const graph = new Map<string, Set<string>>();
  for (const project of projects) {
    const targets = [...dependenciesOf(project)].map((name) => {
      const target = byPackage.get(name);
      if (target === undefined) {
        throw new Error(`${relative(ROOT, project.dir)} depends on ${name}, which is no workspace project`);
      }
      return target;
    });
    graph.set(project.nxName, new Set(targets));
  }
  return graph;
}

function reachable(
  graph: Map<string, Set<string>>,
  from: string,
  skip: { from: string; to: string },
): Set<string> {
  const seen = new Set<string>();
  const stack = [...(graph.get(from) ?? [])].filter((to) => !(from === skip.from && to === skip.to));
  while (stack.length > 0) {
    const next = stack.pop()!;
    if (seen.has(next)) continue;
    seen.add(next);
    stack.push(...(graph.get(next) ?? []));
  }
  return seen;
}

/** Edges that no longer path implies (the graph is acyclic: lint forbids upward imports). */
function transitiveReduction(graph: Map<string, Set<string>>): Set<string> {
  const edges = new Set<string>();
  for (const [from, tos] of graph) {
    for (const to of tos) if (!reachable(graph, from, { from, to }).has(to)) edges.add(`${from} --> ${to}`);
  }
  return edges;
}

/** Nodes and edges of the first mermaid block after the marker comment in docs/design.md. */
function parseDiagram(markdown: string): { nodes: Set<string>; edges: Set<string> } {
  const start = markdown.indexOf('<!-- import-graph -->');
  if (start < 0) throw new Error('docs/design.md has no <!-- import-graph --> marker before its diagram');
  const block = /```mermaid\n([\s\S]*?)```/.exec(markdown.slice(start));
  if (!block) throw new Error('no mermaid block follows the <!-- import-graph --> marker');
  const nodes = new Set<string>();
  const edges = new Set<string>();
  for (const raw of block[1]!.split('\n')) {
    const line = raw.replace(/%%.*$/, '').trim();
    if (line === '' || /^(flowchart|graph|subgraph|end$|classDef|class |style |direction )/.test(line))
      continue;
    const edge = /^([\w-]+)\s*-->\s*([\w-]+(?:\s*&\s*[\w-]+)*)$/.exec(line);
    if (edge) {
      for (const to of edge[2]!.split('&').map((s) => s.trim())) edges.add(`${edge[1]} --> ${to}`);
      continue;
    }
    const node = /^([\w-]+)\s*\[/.exec(line);
    if (node) {
      nodes.add(node[1]!);
      continue;
    }
    throw new Error(`cannot read this line of the diagram: ${line}`);
  }
  return { nodes, edges };
}

function difference(a: Set<string>, b: Set<string>): string[] {
  return [...a].filter((x) => !b.has(x)).sort();
}

describe('the architecture diagram of docs/design.md', () => {
  const graph = workspaceGraph();
  const diagram = parseDiagram(readFileSync(DESIGN, 'utf8'));

  it('has one node per workspace project', () => {
    const projects = new Set(graph.keys());
    expect({
      'projects missing from the diagram': difference(projects, diagram.nodes),
      'nodes that are no project': difference(diagram.nodes, projects),
    }).toEqual({ 'projects missing from the diagram': [], 'nodes that are no project': [] });
  });

  it('draws exactly the dependencies no longer path implies', () => {
    const real = transitiveReduction(graph);
    expect({
      'edges to add to docs/design.md': difference(real, diagram.edges),
      'edges to remove from docs/design.md (absent or implied)': difference(diagram.edges, real),
    }).toEqual({
      'edges to add to docs/design.md': [],
      'edges to remove from docs/design.md (absent or implied)': [],
    });
  });

  it('reads the diagram syntax it is given and reduces a graph', () => {
    const parsed = parseDiagram(
      '<!-- import-graph -->\n```mermaid\nflowchart BT\n  a["A"]\n  a --> b & c\n```\n',
    );
    expect([...parsed.edges].sort()).toEqual(['a --> b', 'a --> c']);
    expect([...parsed.nodes]).toEqual(['a']);
    const reduced = transitiveReduction(
      new Map([
        ['a', new Set(['b', 'c'])],
        ['b', new Set(['c'])],
        ['c', new Set<string>()],
      ]),
    );
    expect([...reduced].sort()).toEqual(['a --> b', 'b --> c']);
  });
});
