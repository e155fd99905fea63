import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AndOrGraph } from './aog';
import { aogNodes, writeAogPage } from './aog-browser';
import type { ExplanatoryGraph, GraphInference, InferredImages } from './graph';
import { renderNodePatches, topImages, type NodeRef } from './pictures';

export interface BrowserOptions {
  /** Nodes shown per layer: the strongest ones, plus the parents of every node shown below. */
  readonly nodesPerLayer?: number;
  /** Images per node strip. */
  readonly images?: number;
  readonly title?: string;
  /**
   * Optimized images of the shown nodes (docs/visualize.md), PNGs by `LAYER:NODE`: given the
   * nodes the browser shows, returns those it has; each is shown beside its node's patches.
   */
  readonly visualizations?: (nodes: readonly NodeRef[]) => ReadonlyMap<string, Buffer>;
  /** Also show this And-Or graph of the graph's parts (aog.html, linked from the index; its nodes get cards). */
  readonly aog?: AndOrGraph;
}

const escape = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** A node's strength: the mean of its best `top` total scores over the images. */
export function nodeStrength(inference: GraphInference, ref: NodeRef, top = 20): number {
  const l = inference.layers[ref.layer]!;
  return topImages(inference, ref, top).reduce((s, i) => s + l.total[i * l.nodes + ref.node]!, 0) / top;
}

/**
 * A static HTML browser of the graph, written to `dir` (index.html + one PNG strip per shown
 * node): one tab per graph layer; per node its filter, anchor, σ, strength and the patches
 * where it fires; links to its parents in the layer above (a click shows that layer and
 * highlights the parent). Opens from disk, no server, no external script.
 */
export async function writeGraphBrowser(
  dir: string,
  { graph, inference, images }: InferredImages & { readonly graph: ExplanatoryGraph },
  options: BrowserOptions = {},
): Promise<string> {
  const perLayer = options.nodesPerLayer ?? 24;
  const shown: Set<number>[] = graph.layers.map(() => new Set<number>());
  const strength = graph.layers.map((_, l) =>
    Array.from({ length: inference.layers[l]!.nodes }, (_, v) =>
      nodeStrength(inference, { layer: l, node: v }),
    ),
  );
  graph.layers.forEach((_, l) => {
    const order = strength[l]!.map((s, v) => [s, v] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
    for (const [, v] of order.slice(0, perLayer)) shown[l]!.add(v);
  });
  if (options.aog) aogNodes(options.aog).forEach((nodes, l) => nodes.forEach((v) => shown[l]?.add(v)));
  // Bottom-up, so that parents of shown nodes are shown too.
  for (let l = graph.layers.length - 1; l > 0; l--) {
    const s = graph.layers[l]!.state;
    for (const v of shown[l]!)
      for (let j = 0; j < s.params.parents; j++)
        if (s.parents[v * s.params.parents + j]! >= 0)
          shown[l - 1]!.add(s.parents[v * s.params.parents + j]!);
  }
  await mkdir(join(dir, 'nodes'), { recursive: true });
  const pictures =
    options.visualizations?.(
      shown.flatMap((set, l) => [...set].sort((a, b) => a - b).map((node) => ({ layer: l, node }))),
    ) ?? new Map<string, Buffer>();
  const sections: string[] = [];
  for (let l = 0; l < graph.layers.length; l++) {
    const layer = graph.layers[l]!;
    const s = layer.state;
    const k = s.params.nodesPerFilter;
    const nodes = [...shown[l]!].sort((a, b) => strength[l]![b]! - strength[l]![a]! || a - b);
    const cards: string[] = [];
    for (const v of nodes) {
      const file = `nodes/l${l}-n${v}.png`;
      await writeFile(
        join(dir, file),
        renderNodePatches({ inference, images }, [{ layer: l, node: v }], {
          images: options.images ?? 6,
          patch: Math.max(12, 3 * s.geometry.scale),
          captions: [`filter ${Math.floor(v / k)} · node ${v % k}`],
        }),
      );
      const parents = Array.from(s.parents.subarray(v * s.params.parents, (v + 1) * s.params.parents)).filter(
        (u) => u >= 0,
      );
      const links = parents
        .map(
          (u) => `<a href="#n-${l - 1}-${u}" class="parent" data-layer="${l - 1}" data-node="${u}">${u}</a>`,
        )
        .join(' ');
      const picture = pictures.get(`${l}:${v}`);
      const optimized = `nodes/l${l}-n${v}-optimized.png`;
      if (picture) await writeFile(join(dir, optimized), picture);
      cards.push(
        `<div class="node" id="n-${l}-${v}"><div class="meta">node ${v} · filter ${Math.floor(v / k)} · anchor (${s.anchor[v * 2]!.toFixed(1)}, ${s.anchor[v * 2 + 1]!.toFixed(1)}) · σ ${s.sigma[v]!.toFixed(2)} · strength ${strength[l]![v]!.toFixed(2)}</div>` +
          `<img src="${file}" alt="patches where node ${v} fires">` +
          (picture
            ? `<figure class="optimized"><img src="${optimized}" alt="image optimized to excite node ${v}"><figcaption>optimized for the node</figcaption></figure>`
            : '') +
          (parents.length
            ? `<div class="parents">parents in ${escape(graph.layers[l - 1]!.name)}: ${links}</div>`
            : '') +
          `</div>`,
      );
    }
    sections.push(
      `<section class="layer" id="layer-${l}" data-layer="${l}"${l === 0 ? '' : ' hidden'}><h2>${escape(layer.name)}</h2><p>${s.filters} filters × ${k} nodes; map ${s.geometry.h}×${s.geometry.w}, one cell = ${s.geometry.scale} px; showing ${nodes.length} nodes, strongest first.</p>${cards.join('\n')}</section>`,
    );
  }
  const tabs = graph.layers
    .map(
      (l, i) =>
        `<button class="tab${i === 0 ? ' active' : ''}" data-layer="${i}">${escape(l.name)} (${inference.layers[i]!.nodes} nodes)</button>`,
    )
    .join('');
  const title =
    options.title ??
    `Explanatory graph of ${graph.subject.module}${graph.subject.version ? `@${graph.subject.version}` : ''}`;
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title>
<style>
body { font: 14px system-ui, sans-serif; background: #121212; color: #eee; margin: 1em; }
.tab { background: #333; color: #eee; border: 1px solid #555; padding: .4em .8em; cursor: pointer; }
.tab.active { background: #0a5; }
.node { display: inline-block; vertical-align: top; margin: .4em; padding: .4em; border: 2px solid #333; }
.node.selected { border-color: #ff0; }
.meta, .parents { font-size: 12px; max-width: 40em; }
.optimized { display: inline-block; margin: 0 0 0 .4em; font-size: 11px; vertical-align: top; }
a { color: #6cf; }
</style></head><body>
<h1>${escape(title)}</h1>
<p>Mined from ${graph.mining.images} images (${escape(graph.mining.data)}) without part labels; ${graph.layers.length} layers, top first. Each node is a part pattern of one filter; its picture shows where it fires in the images where it fires most. Parents are the nodes of the layer above whose displacements it follows.</p>
<nav>${tabs}${options.aog ? ' <a id="aog-link" href="aog.html">And-Or graph of the parts</a>' : ''}</nav>
${sections.join('\n')}
<script>
function show(layer) {
  document.querySelectorAll('section.layer').forEach(function (s) { s.hidden = s.dataset.layer !== String(layer); });
  document.querySelectorAll('.tab').forEach(function (t) { t.classList.toggle('active', t.dataset.layer === String(layer)); });
}
document.querySelectorAll('.tab').forEach(function (t) { t.addEventListener('click', function () { show(t.dataset.layer); }); });
function select(layer, node) {
  show(layer);
  document.querySelectorAll('.node.selected').forEach(function (n) { n.classList.remove('selected'); });
  var target = document.getElementById('n-' + layer + '-' + node);
  if (target) { target.classList.add('selected'); target.scrollIntoView(); }
}
document.querySelectorAll('a.parent').forEach(function (a) {
  a.addEventListener('click', function (e) {
    e.preventDefault();
    select(a.dataset.layer, a.dataset.node);
  });
});
var linked = /^#n-([0-9]+)-([0-9]+)$/.exec(location.hash);
if (linked) select(linked[1], linked[2]);
</script>
</body></html>
`;
  const index = join(dir, 'index.html');
  await writeFile(index, html);
  if (options.aog)
    await writeAogPage(dir, { aog: options.aog, graph, inference, images }, { images: options.images ?? 4 });
  return index;
}
