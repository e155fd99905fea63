import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Network } from '@transplant/composer';
import type { CategoryId, PartName } from '@transplant/data';
import {
  GRAPH_IMAGE_SEEDS,
  LOCALIZATION_METHODS,
  graphSize,
  graphVsFilterStability,
  localizeParts,
  mineCategoryGraph,
  nodeStrength,
  partCentres,
  renderNodePatches,
  writeGraphBrowser,
  type FewShotResult,
  type GraphViewRule,
  type LocalizationMethod,
} from '@transplant/explanatory-graph';
import { INSTABILITY_LANDMARKS } from '@transplant/interpretable';

export interface GraphRunOptions {
  readonly images: number;
  readonly negatives: number;
  readonly test: number;
  readonly iterations: number;
  readonly shots: readonly number[];
  readonly draws: number;
  readonly top: number;
  readonly views: GraphViewRule;
  readonly topN: number;
  /** Where pictures go (relative names are recorded in the result). */
  readonly pictures: string;
  /** Where the graph file goes. */
  readonly graphFile: string;
  /** Also write the HTML browser here. */
  readonly browser?: string;
  readonly log: (line: string) => void;
}

export interface GraphRunResult {
  readonly category: CategoryId;
  readonly network: string;
  readonly layers: {
    name: string;
    nodes: number;
    filters: number;
    map: number;
    ms: number;
    msPerImageIteration: number;
  }[];
  readonly featureMs: number;
  readonly graphDigest: string;
  readonly views: GraphViewRule;
  /** Share of test images whose chosen view matches the animal's facing (or its opposite, whichever is larger). */
  readonly viewAgreement: number;
  readonly localization: FewShotResult[];
  readonly stability: {
    nodes: { perLayer: number[]; mean: number; kept: number[] };
    filters: { perLayer: number[]; mean: number; kept: number[] };
    landmarks: PartName[];
    topN: number;
  };
  readonly pictures: string[];
  readonly settings: Omit<GraphRunOptions, 'log' | 'pictures' | 'graphFile' | 'browser'>;
}

/** One category: mine its zoo network's graph, localize every part from K shots, measure instability, draw. */
export async function runGraphCategory(
  subject: {
    readonly category: CategoryId;
    /** The category's zoo network. */
    readonly network: Network;
    /** Its registry reference (`cat-cls@1.1.0`). */
    readonly name: string;
  },
  options: GraphRunOptions,
): Promise<GraphRunResult> {
  const { category, network, name } = subject;
  const link = network.links[0]!;
  const {
    graph,
    images: mining,
    digest,
  } = await mineCategoryGraph({
    network,
    link,
    category,
    reference: name,
    images: options.images,
    negatives: options.negatives,
    iterations: options.iterations,
    views: options.views,
    out: options.graphFile,
    onProgress: (p) => {
      if (p.iteration === 1 || p.iteration === p.iterations || p.iteration % 5 === 0)
        options.log(
          `[${category}] ${p.layer} EM ${p.iteration}/${p.iterations} (${(p.ms / 1000).toFixed(1)} s)`,
        );
    },
  });
  const graphDigest = digest!;
  const partsPng = `${category}-parts.png`;
  const k = options.shots.includes(3) ? 3 : options.shots[0]!;
  // The experiment draws its K shots from the mining images, with one seed per category.
  const localized = await localizeParts({
    graph,
    network,
    link,
    category,
    pool: mining,
    test: { count: options.test, seed: GRAPH_IMAGE_SEEDS.test },
    shots: options.shots,
    draws: options.draws,
    top: options.top,
    seed: `graph-${category}`,
    picture: {
      file: join(options.pictures, partsPng),
      k,
      index: 0,
      title: `${category}: parts from ${k} shots (dot: graph, ring: annotated)`,
    },
  });
  const { parts, results: localization } = localized;
  const { images: test, inference: held } = localized.test;
  const landmarks = INSTABILITY_LANDMARKS.filter((p) => parts.includes(p));
  const stability = graphVsFilterStability(graph, {
    inference: held,
    landmarks: landmarks.map((p) => partCentres(test, p)),
    topN: options.topN,
  });
  const agree =
    test.samples.filter((s, i) => (s.annotation.facing === 'right') === (held.flips[i] === 1)).length /
    test.samples.length;

  const pictures: string[] = [];
  const strongest = graph.layers.flatMap((l, li) =>
    Array.from({ length: held.layers[li]!.nodes }, (_, v) => ({
      layer: li,
      node: v,
      s: nodeStrength(held, { layer: li, node: v }),
    }))
      .sort((a, b) => b.s - a.s)
      .slice(0, 4),
  );
  const perFilter = (li: number) => graph.layers[li]!.state.params.nodesPerFilter;
  const nodesPng = `${category}-nodes.png`;
  await writeFile(
    join(options.pictures, nodesPng),
    renderNodePatches({ inference: held, images: test }, strongest, {
      images: 8,
      patchFor: (r) => Math.max(12, 3 * graph.layers[r.layer]!.state.geometry.scale),
      captions: strongest.map(
        (r) =>
          `${graph.layers[r.layer]!.name.split(':')[1]} · filter ${Math.floor(r.node / perFilter(r.layer))} · node ${r.node % perFilter(r.layer)}`,
      ),
    }),
  );
  pictures.push(nodesPng);
  pictures.push(partsPng);
  if (options.browser)
    await writeGraphBrowser(
      options.browser,
      { graph, inference: held, images: test },
      {
        nodesPerLayer: 10,
        images: 6,
        title: `Explanatory graph of ${name} (${category} object crops)`,
      },
    );

  return {
    category,
    network: name,
    layers: graph.layers.map((l, li) => ({
      name: l.name,
      nodes: graphSize(graph).perLayer[li]!,
      filters: l.state.filters,
      map: l.state.geometry.h,
      ms: graph.mining.layerMs[li]!,
      msPerImageIteration: graph.mining.layerMs[li]! / (options.images * options.iterations),
    })),
    featureMs: graph.mining.featureMs,
    graphDigest,
    views: options.views,
    viewAgreement: Math.max(agree, 1 - agree),
    localization,
    stability: { nodes: stability.nodes, filters: stability.filters, landmarks, topN: options.topN },
    pictures,
    settings: {
      images: options.images,
      negatives: options.negatives,
      test: options.test,
      iterations: options.iterations,
      shots: options.shots,
      draws: options.draws,
      top: options.top,
      views: options.views,
      topN: options.topN,
    },
  };
}

const f3 = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : '–');

/** Mean over parts of each method's distance, per K. */
export function averageOverParts(
  results: readonly FewShotResult[],
  k: number,
): Record<LocalizationMethod, number> | null {
  const rows = results.filter((r) => r.k === k);
  if (rows.length === 0) return null;
  return Object.fromEntries(
    LOCALIZATION_METHODS.map((m) => [m, rows.reduce((s, r) => s + r.distance[m], 0) / rows.length]),
  ) as Record<LocalizationMethod, number>;
}

const BASELINES: LocalizationMethod[] = ['filter-best', 'filter-ensemble', 'pooled-linear'];
const ALIGNED: LocalizationMethod[] = ['filter-ensemble-aligned', 'pooled-linear-aligned'];

/** The Markdown report over every category run. */
export function formatGraphReport(
  runs: readonly GraphRunResult[],
  meta: { backend: string; command: string },
): string {
  const s = runs[0]?.settings;
  const lines: string[] = [];
  lines.push('# Explanatory graphs on the synthetic data (docs/methods.md §3, §9.3)', '');
  lines.push(
    `Regenerate: \`${meta.command}\` (resumable: one JSON per category under \`explanatory-graph/runs/\`). Back end ${meta.backend}.`,
  );
  if (s) {
    lines.push(
      `Settings: graphs mined from each category's zoo classification network (\`<category>-cls\`) over its category module's top two conv layers, on ${s.images} object crops (no part labels) with ${s.negatives} background scenes for σ_neg; ${s.iterations} EM iterations per layer; views rule \`${s.views}\`. Few-shot: K ∈ {${s.shots.join(', ')}} annotated images drawn ${s.draws} times from the mining images; ${s.test} held-out crops; the graph and the filter ensemble vote with their top ${s.top} units. Instability: top-${s.topN} images per unit.`,
    );
  }
  lines.push('');
  lines.push(
    "## Few-shot part localization: normalized distance (lower is better), mean over the category's parts",
    '',
  );
  const ks = s?.shots ?? [];
  lines.push(
    `| category | K | graph | best raw filter | raw-filter ensemble | pooled features + linear | graph vs best baseline | raw-filter ensemble, aligned views | pooled + linear, aligned views |`,
  );
  lines.push('|---|---|---|---|---|---|---|---|---|');
  const overall: Record<number, { graph: number; best: number; aligned: number; n: number }> = {};
  for (const r of runs) {
    for (const k of ks) {
      const a = averageOverParts(r.localization, k);
      if (!a) continue;
      const best = Math.min(...BASELINES.map((m) => a[m]));
      const bestAligned = Math.min(...ALIGNED.map((m) => a[m]));
      const o = (overall[k] ??= { graph: 0, best: 0, aligned: 0, n: 0 });
      o.graph += a.graph;
      o.best += best;
      o.aligned += bestAligned;
      o.n++;
      lines.push(
        `| ${r.category} | ${k} | **${f3(a.graph)}** | ${f3(a['filter-best'])} | ${f3(a['filter-ensemble'])} | ${f3(a['pooled-linear'])} | ${pct(a.graph, best)} | ${f3(a['filter-ensemble-aligned'])} | ${f3(a['pooled-linear-aligned'])} |`,
      );
    }
  }
  for (const k of ks) {
    const o = overall[k];
    if (!o) continue;
    lines.push(
      `| **average (${o.n})** | ${k} | **${f3(o.graph / o.n)}** | | | best ${f3(o.best / o.n)} | ${pct(o.graph / o.n, o.best / o.n)} | best aligned ${f3(o.aligned / o.n)} | ${pct(o.graph / o.n, o.aligned / o.n)} vs aligned |`,
    );
  }
  lines.push('');
  lines.push(
    "Paper (§9.3, 3-shot): the graph cuts the normalized distance by one to two thirds against the best baseline (Pascal VOC Part average 0.177 vs 0.244 for fc7 + linear SVM; CUB200 head 0.0862 vs 0.2333). *Aligned views* give the baselines the graph's own per-image mirror choice; they are not in the paper and show how much of the gain is the alignment of left- and right-facing animals rather than the nodes.",
    '',
  );
  lines.push('### Per part (K = 3)', '');
  lines.push(
    '| category | part | test images | graph | best raw filter | raw-filter ensemble | pooled + linear | raw-filter ensemble, aligned | pooled + linear, aligned |',
  );
  lines.push('|---|---|---|---|---|---|---|---|---|');
  for (const r of runs)
    for (const x of r.localization.filter((x) => x.k === 3))
      lines.push(
        `| ${r.category} | ${x.part} | ${x.testImages} | **${f3(x.distance.graph)}** | ${f3(x.distance['filter-best'])} | ${f3(x.distance['filter-ensemble'])} | ${f3(x.distance['pooled-linear'])} | ${f3(x.distance['filter-ensemble-aligned'])} | ${f3(x.distance['pooled-linear-aligned'])} |`,
      );
  lines.push('');
  lines.push(
    '## Location instability: graph nodes vs raw filters (docs/methods.md §3.7; lower is more stable)',
    '',
  );
  lines.push(
    '| category | landmarks | nodes (per layer, top first) | nodes | raw filters (per layer) | raw filters | change | units kept per layer |',
  );
  lines.push('|---|---|---|---|---|---|---|---|');
  let sn = 0;
  let sf = 0;
  for (const r of runs) {
    const st = r.stability;
    sn += st.nodes.mean;
    sf += st.filters.mean;
    lines.push(
      `| ${r.category} | ${st.landmarks.join(', ')} | ${st.nodes.perLayer.map(f3).join(' / ')} | **${f3(st.nodes.mean)}** | ${st.filters.perLayer.map(f3).join(' / ')} | ${f3(st.filters.mean)} | ${pct(st.nodes.mean, st.filters.mean)} | ${st.nodes.kept.join(' / ')} |`,
    );
  }
  if (runs.length)
    lines.push(
      `| **average** | | | **${f3(sn / runs.length)}** | | ${f3(sf / runs.length)} | ${pct(sn / runs.length, sf / runs.length)} | |`,
    );
  lines.push(
    '',
    "Both sides keep the same number of units per layer: the authors' 167 of VGG-16's 512 filters, scaled to the layer's filter count, ranked by the mean of their top scores.",
    '',
  );
  lines.push('## Mining time', '');
  lines.push(
    '| category | layer | map | filters | nodes | EM time | per image and iteration | reading feature maps (all layers, both views, with negatives) | view agreement with facing |',
  );
  lines.push('|---|---|---|---|---|---|---|---|---|');
  for (const r of runs)
    for (const l of r.layers)
      lines.push(
        `| ${r.category} | ${l.name.split(':')[1]} | ${l.map}×${l.map} | ${l.filters} | ${l.nodes} | ${(l.ms / 1000).toFixed(1)} s | ${l.msPerImageIteration.toFixed(2)} ms | ${(r.featureMs / 1000).toFixed(1)} s | ${(100 * r.viewAgreement).toFixed(0)} % |`,
      );
  lines.push('');
  lines.push('## Pictures', '');
  for (const r of runs) for (const p of r.pictures) lines.push(`![${p}](explanatory-graph/${p})`);
  lines.push(
    '',
    "Node patches: each row is one of the strongest nodes, each column an image where it fires most, the patch centred on the node's inferred position. Parts: dots are the graph's K-shot predictions, rings the annotated centres.",
  );
  return `${lines.join('\n')}\n`;
}

function pct(value: number, reference: number): string {
  if (!Number.isFinite(value) || !Number.isFinite(reference) || reference === 0) return '–';
  const change = (100 * (value - reference)) / reference;
  return `${change > 0 ? '+' : '−'}${Math.abs(change).toFixed(0)} %`;
}
