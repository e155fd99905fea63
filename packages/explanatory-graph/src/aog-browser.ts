import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AOG_VIEWS, type AndOrGraph } from './aog';
import type { ExplanatoryGraph, InferredImages } from './graph';
import { renderNodePatches } from './pictures';

const escape = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** The graph nodes an AOG uses, per graph layer (so that the graph browser shows a card for each). */
export function aogNodes(aog: AndOrGraph): Set<number>[] {
  const out = aog.graph.nodes.map(() => new Set<number>());
  for (const p of aog.parts) for (const t of p.templates) for (const n of t.nodes) out[n.layer]!.add(n.node);
  return out;
}

/**
 * The AOG's hierarchy as a page of the graph browser (`aog.html` beside its index.html): the
 * object, its parts (AND), each part's templates (OR, one per view the shots were read in,
 * both applied in the graph's aligned frame), each template's nodes with their unit (layer, filter), displacement, spread,
 * weight, the patches where the node fires, and a link to the node's card in the graph browser.
 */
export async function writeAogPage(
  dir: string,
  {
    aog,
    graph,
    inference,
    images,
  }: InferredImages & { readonly aog: AndOrGraph; readonly graph: ExplanatoryGraph },
  options: { readonly images?: number; readonly title?: string } = {},
): Promise<string> {
  const strips = new Map<string, string>();
  for (const [layer, nodes] of aogNodes(aog).entries()) {
    const s = graph.layers[layer]!.state;
    for (const node of nodes) {
      const file = `nodes/aog-l${layer}-n${node}.png`;
      await writeFile(
        join(dir, file),
        renderNodePatches({ inference, images }, [{ layer, node }], {
          images: options.images ?? 4,
          patch: Math.max(12, 3 * s.geometry.scale),
          captions: [`filter ${Math.floor(node / s.params.nodesPerFilter)} · node ${node}`],
        }),
      );
      strips.set(`${layer}:${node}`, file);
    }
  }
  const parts = aog.parts.map((p, pi) => {
    const templates = p.templates.map((t) => {
      const rows = t.nodes.map(
        (n) =>
          `<tr class="aog-node"><td><a class="graph-node" href="index.html#n-${n.layer}-${n.node}">node ${n.node}</a></td><td>${escape(n.unit.layer)}</td><td>${n.unit.filter}</td><td>(${n.dx.toFixed(1)}, ${n.dy.toFixed(1)})</td><td>${n.spread.toFixed(1)}</td><td>${n.weight.toPrecision(3)}</td><td><img src="${strips.get(`${n.layer}:${n.node}`)}" alt="patches where node ${n.node} fires"></td></tr>`,
      );
      const from =
        t.source === 'shots'
          ? `learned from ${t.shots.length} shot(s) seen ${AOG_VIEWS[t.view]}`
          : `no shot seen ${AOG_VIEWS[t.view]}: a copy of the other template, displacements unchanged (it scores as the other; a parse makes no OR choice between them)`;
      return `<details class="template" data-view="${t.view}"><summary>OR · template ${AOG_VIEWS[t.view]} — ${from}; ${t.nodes.length} nodes</summary><table><tr><th>latent pattern</th><th>unit layer</th><th>filter</th><th>Δ (dx, dy) px</th><th>spread px</th><th>weight</th><th>where it fires</th></tr>${rows.join('')}</table></details>`;
    });
    return `<details class="part" id="part-${pi}" data-part="${escape(p.part)}"><summary>AND · ${escape(p.part)} (${p.templates.length} templates)</summary>${templates.join('\n')}</details>`;
  });
  const title =
    options.title ??
    `And-Or graph of ${aog.subject.module}${aog.subject.version ? `@${aog.subject.version}` : ''}`;
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title>
<style>
body { font: 14px system-ui, sans-serif; background: #121212; color: #eee; margin: 1em; }
details { margin: .3em 0 .3em 1.2em; }
summary { cursor: pointer; }
table { border-collapse: collapse; margin: .3em 0 .3em 1.2em; }
td, th { border: 1px solid #333; padding: .2em .4em; font-size: 12px; vertical-align: middle; }
a { color: #6cf; }
</style></head><body>
<h1>${escape(title)}</h1>
<p><a href="index.html">← the explanatory graph</a></p>
<p>Learned from ${escape(aog.learning.data)}. Object → semantic parts (AND: every part is located) → templates (OR: the parse takes the template whose nodes give the most weighted evidence, and makes no choice where they tie) → latent patterns (graph nodes, each with the displacement from its position to the part) → neural units (a filter of a conv layer). A node's weight is its mean score on the shots over the variance of its predictions.</p>
<p>Both templates of a part apply in the graph's aligned frame: every displacement Δ is given in that frame and turned by the view the graph reads an image in, whichever template it belongs to. A template is therefore not a pose: the two templates differ only in which shots they were learned from (those the graph read as mined, those it read mirrored).</p>
<details class="object" open><summary>AND · object (${aog.parts.length} parts)</summary>
${parts.join('\n')}
</details>
</body></html>
`;
  const page = join(dir, 'aog.html');
  await writeFile(page, html);
  return page;
}
