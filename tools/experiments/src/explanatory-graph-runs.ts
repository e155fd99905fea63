import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Network } from '@transplant/composer';
import { sha256Digest, writeFileWhole } from '@transplant/core';
import type { CategoryId, PartName } from '@transplant/data';
import {
  GRAPH_IMAGE_SEEDS,
  LOCALIZATION_METHODS,
  RIDGE_METHODS,
  decodeGraph,
  graphSize,
  graphVsFilterStability,
  localizeParts,
  mineCategoryGraph,
  nodeStrength,
  partCentres,
  renderNodePatches,
  writeGraphBrowser,
  type ExplanatoryGraph,
  type FewShotResult,
  type GraphViewRule,
  type LocalizationMethod,
  type RidgeMethod,
} from '@transplant/explanatory-graph';
import { INSTABILITY_LANDMARKS, partImages, type PartImages } from '@transplant/interpretable';
import { comparedInWords, formatInterval, formatP, mean, pairedT, tInterval } from './seed-stats';

/**
 * The image streams of the experiment (docs/protocol.md). Train: each seed's mining crops and
 * background scenes (the K shots are drawn from the mining crops). Dev: the `graph-test` crops,
 * on which every earlier design choice (views rule, top units, EM iterations) was scored, and
 * on which the ridge baselines' λ is chosen now. Final test: crops under a name no earlier run
 * drew, read only by a final run.
 */
export const GRAPH_STREAMS = { dev: GRAPH_IMAGE_SEEDS.test, final: 'graph-final' } as const;

/** The ridge strengths (per feature dimension) the pooled-feature baselines choose from on dev. */
export const DEFAULT_LAMBDAS: readonly number[] = [0.001, 0.01, 0.1, 1, 10, 100];

/**
 * The seed names of one run: seed 1 keeps the names of the runs before the protocol (the same
 * mining images, node initialisation and shot draws); other seeds draw other training images,
 * initialise the nodes and draw the K shots otherwise.
 */
export function graphSeedNames(
  category: CategoryId,
  seed: number,
): { mine: string; negatives: string; init: string; draws: string } {
  const tail = seed === 1 ? '' : `-s${seed}`;
  return {
    mine: `${GRAPH_IMAGE_SEEDS.mine}${tail}`,
    negatives: `${GRAPH_IMAGE_SEEDS.negatives}${tail}`,
    init: `explanatory-graph${tail}`,
    draws: `graph-${category}${tail}`,
  };
}

export interface GraphRunOptions {
  readonly seed: number;
  readonly images: number;
  readonly negatives: number;
  /** Dev crops, and as many final-test crops. */
  readonly test: number;
  readonly iterations: number;
  readonly shots: readonly number[];
  readonly draws: number;
  readonly top: number;
  readonly views: GraphViewRule;
  readonly topN: number;
  readonly lambdas: readonly number[];
  /** Also evaluate on the final-test crops (a final run). */
  readonly final: boolean;
  /** Where pictures go (relative names are recorded in the result); none when absent. */
  readonly pictures?: string;
  /** Where the graph file goes; a run that finds the graph its previous result names there does not mine again. */
  readonly graphFile: string;
  /** Also write the HTML browser here. */
  readonly browser?: string;
  readonly log: (line: string) => void;
}

/** λ of each ridge baseline per K (as text), chosen on dev. */
export type ChosenLambdas = Record<RidgeMethod, Record<string, number>>;

/** One evaluation of a mined graph on a held-out stream. */
export interface GraphEvaluation {
  /** `dev`, or `test` (the final test). */
  readonly split: 'dev' | 'test';
  /** The crops' seed name and count. */
  readonly stream: string;
  readonly images: number;
  readonly localization: FewShotResult[];
  /** The λ the ridge baselines are reported with: chosen on dev (for the final test too). */
  readonly lambda: ChosenLambdas;
  /** Share of the crops whose chosen view matches the animal's facing (or its opposite, whichever is larger). */
  readonly viewAgreement: number;
  readonly stability: {
    nodes: { perLayer: number[]; mean: number; kept: number[] };
    filters: { perLayer: number[]; mean: number; kept: number[] };
    landmarks: PartName[];
    topN: number;
  };
}

export interface GraphRunResult {
  readonly category: CategoryId;
  readonly seed: number;
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
  readonly dev: GraphEvaluation;
  /** Only in a final run. */
  readonly final?: GraphEvaluation;
  readonly pictures: string[];
  readonly settings: Omit<GraphRunOptions, 'log' | 'pictures' | 'graphFile' | 'browser' | 'final'> & {
    readonly seedNames: ReturnType<typeof graphSeedNames>;
  };
}

/** The mean distance of a ridge baseline at λ index `l`, over the parts of one K. */
const ridgeAt = (rows: readonly FewShotResult[], method: RidgeMethod, l: number) =>
  mean(rows.map((r) => r.ridge![method][l]!));

/** Per ridge baseline and K, the λ of the grid with the lowest mean distance over the parts (the first on a tie). */
export function chooseLambdas(
  localization: readonly FewShotResult[],
  lambdas: readonly number[],
): ChosenLambdas {
  const ks = [...new Set(localization.map((r) => r.k))];
  const out = { 'pooled-linear': {}, 'pooled-linear-aligned': {} } as ChosenLambdas;
  for (const method of RIDGE_METHODS)
    for (const k of ks) {
      const rows = localization.filter((r) => r.k === k);
      let best = 0;
      for (let l = 1; l < lambdas.length; l++)
        if (ridgeAt(rows, method, l) < ridgeAt(rows, method, best)) best = l;
      out[method][String(k)] = lambdas[best]!;
    }
  return out;
}

/**
 * Each method's distance per part and K with the ridge baselines at the λ chosen on dev: the
 * localization results as the report reads them.
 */
export function withChosenLambdas(evaluation: GraphEvaluation, lambdas: readonly number[]): FewShotResult[] {
  return evaluation.localization.map((r) => {
    if (!r.ridge) return r;
    const distance = { ...r.distance };
    for (const method of RIDGE_METHODS) {
      const l = lambdas.indexOf(evaluation.lambda[method][String(r.k)]!);
      if (l >= 0) distance[method] = r.ridge[method][l]!;
    }
    return { ...r, distance };
  });
}

/** The graph of a previous run from its file, when the file still holds exactly that graph. */
async function previousGraph(file: string, digest: string): Promise<ExplanatoryGraph | null> {
  if (!existsSync(file)) return null;
  const bytes = await readFile(file);
  return sha256Digest(bytes) === digest ? decodeGraph(bytes) : null;
}

/**
 * One category and seed: mine its zoo network's graph on the seed's training crops (or read
 * the graph the previous run of this cell mined), then on the dev crops — and in a final run on
 * the final-test crops — localize every part from K shots against the baselines (λ of the
 * ridge baselines chosen on dev) and measure node vs filter instability; draw pictures on dev.
 */
export async function runGraphCategory(
  subject: {
    readonly category: CategoryId;
    /** The category's zoo network. */
    readonly network: Network;
    /** Its registry reference (`cat-cls@1.1.0`). */
    readonly name: string;
  },
  options: GraphRunOptions,
  /** This cell's result from a dev run: its graph and dev numbers are reused when its graph file is intact. */
  previous?: GraphRunResult,
): Promise<GraphRunResult> {
  const { category, network, name } = subject;
  const link = network.links[0]!;
  const seedNames = graphSeedNames(category, options.seed);
  const size = network.module(link.category).ports.input.shape[1]!;
  let graph = previous ? await previousGraph(options.graphFile, previous.graphDigest) : null;
  let mining: PartImages;
  let digest: string;
  if (graph && previous) {
    options.log(`[${category} s${options.seed}] graph read back from ${options.graphFile}`);
    mining = partImages(category, { count: options.images, size, crop: true, seed: seedNames.mine });
    digest = previous.graphDigest;
  } else {
    const mined = await mineCategoryGraph({
      network,
      link,
      category,
      reference: name,
      images: options.images,
      negatives: options.negatives,
      imageSeeds: { mine: seedNames.mine, negatives: seedNames.negatives },
      seed: seedNames.init,
      iterations: options.iterations,
      views: options.views,
      out: options.graphFile,
      onProgress: (p) => {
        if (p.iteration === 1 || p.iteration === p.iterations || p.iteration % 5 === 0)
          options.log(
            `[${category} s${options.seed}] ${p.layer} EM ${p.iteration}/${p.iterations} (${(p.ms / 1000).toFixed(1)} s)`,
          );
      },
    });
    graph = mined.graph;
    mining = mined.images;
    digest = mined.digest!;
    // A new graph: the previous dev numbers belong to another one.
    previous = undefined;
  }
  const mined = graph;

  const evaluate = async (split: 'dev' | 'test', lambda?: ChosenLambdas) => {
    const stream = split === 'dev' ? GRAPH_STREAMS.dev : GRAPH_STREAMS.final;
    const k = options.shots.includes(3) ? 3 : options.shots[0]!;
    const partsPng = `${category}-parts.png`;
    const localized = await localizeParts({
      graph: mined,
      network,
      link,
      category,
      pool: mining,
      test: { count: options.test, seed: stream },
      shots: options.shots,
      draws: options.draws,
      top: options.top,
      seed: seedNames.draws,
      lambdas: options.lambdas,
      ...(options.pictures && split === 'dev'
        ? {
            picture: {
              file: join(options.pictures, partsPng),
              k,
              index: 0,
              title: `${category}: parts from ${k} shots (dot: graph, ring: annotated)`,
            },
          }
        : {}),
    });
    const { parts, results: localization } = localized;
    const { images: test, inference: held } = localized.test;
    const landmarks = INSTABILITY_LANDMARKS.filter((p) => parts.includes(p));
    const stability = graphVsFilterStability(mined, {
      inference: held,
      landmarks: landmarks.map((p) => partCentres(test, p)),
      topN: options.topN,
    });
    const agree =
      test.samples.filter((s, i) => (s.annotation.facing === 'right') === (held.flips[i] === 1)).length /
      test.samples.length;
    const evaluation: GraphEvaluation = {
      split,
      stream,
      images: options.test,
      localization,
      lambda: lambda ?? chooseLambdas(localization, options.lambdas),
      viewAgreement: Math.max(agree, 1 - agree),
      stability: { nodes: stability.nodes, filters: stability.filters, landmarks, topN: options.topN },
    };
    return { evaluation, test, held, partsPng };
  };

  const pictures: string[] = [];
  let dev = previous?.dev;
  if (!dev) {
    const { evaluation, test, held, partsPng } = await evaluate('dev');
    dev = evaluation;
    if (options.pictures) {
      const strongest = mined.layers.flatMap((l, li) =>
        Array.from({ length: held.layers[li]!.nodes }, (_, v) => ({
          layer: li,
          node: v,
          s: nodeStrength(held, { layer: li, node: v }),
        }))
          .sort((a, b) => b.s - a.s)
          .slice(0, 4),
      );
      const perFilter = (li: number) => mined.layers[li]!.state.params.nodesPerFilter;
      const nodesPng = `${category}-nodes.png`;
      await writeFileWhole(
        join(options.pictures, nodesPng),
        renderNodePatches({ inference: held, images: test }, strongest, {
          images: 8,
          patchFor: (r) => Math.max(12, 3 * mined.layers[r.layer]!.state.geometry.scale),
          captions: strongest.map(
            (r) =>
              `${mined.layers[r.layer]!.name.split(':')[1]} · filter ${Math.floor(r.node / perFilter(r.layer))} · node ${r.node % perFilter(r.layer)}`,
          ),
        }),
        'experiment',
      );
      pictures.push(nodesPng, partsPng);
    }
    if (options.browser)
      await writeGraphBrowser(
        options.browser,
        { graph: mined, inference: held, images: test },
        {
          nodesPerLayer: 10,
          images: 6,
          title: `Explanatory graph of ${name} (${category} object crops, dev images)`,
        },
      );
  } else pictures.push(...previous!.pictures);
  const final = options.final ? (await evaluate('test', dev.lambda)).evaluation : undefined;

  return {
    category,
    seed: options.seed,
    network: name,
    layers: mined.layers.map((l, li) => ({
      name: l.name,
      nodes: graphSize(mined).perLayer[li]!,
      filters: l.state.filters,
      map: l.state.geometry.h,
      ms: mined.mining.layerMs[li]!,
      msPerImageIteration: mined.mining.layerMs[li]! / (options.images * options.iterations),
    })),
    featureMs: mined.mining.featureMs,
    graphDigest: digest,
    views: options.views,
    dev,
    ...(final ? { final } : {}),
    pictures,
    settings: {
      seed: options.seed,
      images: options.images,
      negatives: options.negatives,
      test: options.test,
      iterations: options.iterations,
      shots: options.shots,
      draws: options.draws,
      top: options.top,
      views: options.views,
      topN: options.topN,
      lambdas: options.lambdas,
      seedNames,
    },
  };
}

const ci = (xs: readonly number[]) => formatInterval(tInterval(xs));

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

/** The evaluation a report reads: the final test in a final report, dev otherwise. */
export const evaluationOf = (r: GraphRunResult, final: boolean): GraphEvaluation | undefined =>
  final ? r.final : r.dev;

/** Per category (in order of appearance) its runs, seeds ascending. */
function byCategory(runs: readonly GraphRunResult[]): Map<CategoryId, GraphRunResult[]> {
  const out = new Map<CategoryId, GraphRunResult[]>();
  for (const r of runs) out.set(r.category, [...(out.get(r.category) ?? []), r]);
  for (const list of out.values()) list.sort((a, b) => a.seed - b.seed);
  return out;
}

/** `−46 %` style relative change of means. */
function pct(value: number, reference: number): string {
  if (!Number.isFinite(value) || !Number.isFinite(reference) || reference === 0) return '–';
  const change = (100 * (value - reference)) / reference;
  return `${change > 0 ? '+' : '−'}${Math.abs(change).toFixed(0)} %`;
}

/** A paired comparison in words: the relative change of means and the paired t test's p. */
function versus(a: readonly number[], b: readonly number[]): string {
  if (a.length < 2) return pct(mean(a), mean(b));
  const t = pairedT(a, b);
  return `${pct(mean(a), mean(b))} (p ${formatP(t.p)})`;
}

/**
 * The Markdown report over every run: each cell the mean over seeds with a 95 % t interval
 * over seeds; comparisons by a paired t test over seeds (per category) or over category × seed
 * units (averages). `final`: the final-test numbers (runs without them are listed as missing);
 * else the dev numbers, and the heading says so.
 */
export function formatGraphReport(
  all: readonly GraphRunResult[],
  meta: { backend: string; machine: string; command: string; final: boolean },
): string {
  const runs = all.filter((r) => evaluationOf(r, meta.final));
  const missing = all.filter((r) => !evaluationOf(r, meta.final));
  const ev = (r: GraphRunResult) => evaluationOf(r, meta.final)!;
  const lambdas = runs[0]?.settings.lambdas ?? DEFAULT_LAMBDAS;
  const local = (r: GraphRunResult) => withChosenLambdas(ev(r), lambdas);
  const categories = byCategory(runs);
  const seeds = [...new Set(runs.map((r) => r.seed))].sort((a, b) => a - b);
  const s = runs[0]?.settings;
  const lines: string[] = [];
  lines.push(
    meta.final
      ? '# Explanatory graphs on the synthetic data (docs/methods.md §3, §9.3): final test'
      : '# Explanatory graphs on the synthetic data (docs/methods.md §3, §9.3): dev numbers, not the final test',
    '',
  );
  lines.push(
    `Regenerate: \`${meta.command}\` (resumable: one JSON per category and seed under \`explanatory-graph/runs/\`). Back end ${meta.backend}; machine ${meta.machine}.`,
  );
  lines.push(
    meta.final
      ? `Protocol (docs/protocol.md): graphs mined on each seed's training crops; every choice (the design before this run, the ridge baselines' λ now) made on the dev crops (\`${GRAPH_STREAMS.dev}\`); the numbers below are on ${s?.test ?? '–'} final-test crops (\`${GRAPH_STREAMS.final}\`), read once.`
      : `Protocol (docs/protocol.md): these are **dev** numbers, on the ${s?.test ?? '–'} \`${GRAPH_STREAMS.dev}\` crops every design choice was made on, with the ridge baselines' λ chosen on the same crops (which favours the baselines). Only \`--final\` reads the final-test crops.`,
  );
  if (s) {
    lines.push(
      `Settings: graphs mined from each category's zoo classification network (\`<category>-cls\`) over its category module's top two conv layers, on ${s.images} object crops (no part labels) with ${s.negatives} background scenes for σ_neg; ${s.iterations} EM iterations per layer; views rule \`${s.views}\`. Few-shot: K ∈ {${s.shots.join(', ')}} annotated images drawn ${s.draws} times from the mining crops; the graph and the filter ensemble vote with their top ${s.top} units; the ridge baselines choose λ (per feature dimension) per K from {${lambdas.join(', ')}} on dev. Instability: top-${s.topN} images per unit.`,
    );
  }
  lines.push(
    `Seeds: ${seeds.join(', ')} (a seed draws the mining crops and background scenes, initialises the nodes and draws the K shots; the held-out crops are the same for every seed). Every cell: mean over seeds [95 % t interval over seeds], n = seeds; p: two-sided paired t test (per category over seeds, on averages over category × seed).`,
  );
  if (missing.length)
    lines.push(
      '',
      `Not in this report (no ${meta.final ? 'final-test' : 'dev'} numbers yet): ${missing.map((r) => `${r.category} seed ${r.seed}`).join(', ')}.`,
    );
  lines.push('');
  const findingsAt = lines.length;
  lines.push(
    "## Few-shot part localization: normalized distance (lower is better), mean over the category's parts",
    '',
  );
  const ks = s?.shots ?? [];
  lines.push(
    '| category | K | n | graph | best raw filter | raw-filter ensemble | pooled features + linear | graph vs best baseline | raw-filter ensemble, aligned views | pooled + linear, aligned views | graph vs best aligned |',
  );
  lines.push('|---|---|---|---|---|---|---|---|---|---|---|');
  /** Per K: per category × seed unit, the graph, its best baseline and best aligned baseline. */
  const units: Record<number, { graph: number[]; best: number[]; aligned: number[]; seed: number[] }> = {};
  for (const [category, list] of categories) {
    for (const k of ks) {
      const per = list.map((r) => averageOverParts(local(r), k)).filter((a) => a !== null);
      if (per.length === 0) continue;
      const col = (m: LocalizationMethod) => per.map((a) => a[m]);
      // The best baseline of the cell: the one with the lowest mean over seeds (chosen on the numbers shown, which favours the baselines).
      const bestOf = (methods: LocalizationMethod[]) =>
        methods.reduce((b, m) => (mean(col(m)) < mean(col(b)) ? m : b));
      const best = bestOf(BASELINES);
      const aligned = bestOf(ALIGNED);
      const u = (units[k] ??= { graph: [], best: [], aligned: [], seed: [] });
      u.graph.push(...col('graph'));
      u.best.push(...col(best));
      u.aligned.push(...col(aligned));
      u.seed.push(...list.map((r) => r.seed));
      lines.push(
        `| ${category} | ${k} | ${per.length} | **${ci(col('graph'))}** | ${ci(col('filter-best'))} | ${ci(col('filter-ensemble'))} | ${ci(col('pooled-linear'))} | ${versus(col('graph'), col(best))} | ${ci(col('filter-ensemble-aligned'))} | ${ci(col('pooled-linear-aligned'))} | ${versus(col('graph'), col(aligned))} |`,
      );
    }
  }
  for (const k of ks) {
    const u = units[k];
    if (!u) continue;
    // The interval of an average over categories: t over the seeds' category means.
    const perSeed = (xs: number[]) => seeds.map((sd) => mean(xs.filter((_, i) => u.seed[i] === sd)));
    lines.push(
      `| **average (${categories.size} categories)** | ${k} | ${u.graph.length} | **${ci(perSeed(u.graph))}** | | | best ${ci(perSeed(u.best))} | ${versus(u.graph, u.best)} | | best aligned ${ci(perSeed(u.aligned))} | ${versus(u.graph, u.aligned)} |`,
    );
  }
  lines.push('');
  lines.push(
    "Best baseline: per category, the baseline with the lowest mean in that row. K = 1: the ridge baselines predict the shot's position whatever λ is. Averages: n = category × seed units; their interval is the t interval over the seeds' category means; p pairs each unit's graph with its category's best baseline. Paper (§9.3, 3-shot): the graph cuts the normalized distance by one to two thirds against the best baseline (Pascal VOC Part average 0.177 vs 0.244 for fc7 + linear SVM; CUB200 head 0.0862 vs 0.2333). *Aligned views* give the baselines the graph's own per-image mirror choice; they are not in the paper and show how much of the gain is the alignment of left- and right-facing animals rather than the nodes.",
    '',
  );
  lines.push('### λ of the ridge baselines, chosen on dev (per seed, K = 1 / 3 / 5)', '');
  lines.push('| category | seed | pooled + linear | pooled + linear, aligned views |');
  lines.push('|---|---|---|---|');
  for (const [category, list] of categories)
    for (const r of list) {
      const l = ev(r).lambda;
      const fmt = (m: RidgeMethod) => ks.map((k) => String(l[m][String(k)] ?? '–')).join(' / ');
      lines.push(`| ${category} | ${r.seed} | ${fmt('pooled-linear')} | ${fmt('pooled-linear-aligned')} |`);
    }
  lines.push('');
  lines.push('### Per part (K = 3)', '');
  lines.push(
    '| category | part | n | held-out images | graph | raw-filter ensemble | pooled + linear | pooled + linear, aligned |',
  );
  lines.push('|---|---|---|---|---|---|---|---|');
  for (const [category, list] of categories) {
    const parts = [
      ...new Set(
        list.flatMap((r) =>
          local(r)
            .filter((x) => x.k === 3)
            .map((x) => x.part),
        ),
      ),
    ];
    for (const part of parts) {
      const rows = list.flatMap((r) => local(r).filter((x) => x.k === 3 && x.part === part));
      const col = (m: LocalizationMethod) => rows.map((x) => x.distance[m]);
      lines.push(
        `| ${category} | ${part} | ${rows.length} | ${rows[0]!.testImages} | **${ci(col('graph'))}** | ${ci(col('filter-ensemble'))} | ${ci(col('pooled-linear'))} | ${ci(col('pooled-linear-aligned'))} |`,
      );
    }
  }
  lines.push('');
  lines.push(
    '## Location instability: graph nodes vs raw filters (docs/methods.md §3.7; lower is more stable)',
    '',
  );
  lines.push('| category | landmarks | n | nodes | raw filters | nodes vs filters | units kept per layer |');
  lines.push('|---|---|---|---|---|---|---|');
  const sn: number[] = [];
  const sf: number[] = [];
  const sSeed: number[] = [];
  for (const [category, list] of categories) {
    const nodes = list.map((r) => ev(r).stability.nodes.mean);
    const filters = list.map((r) => ev(r).stability.filters.mean);
    sn.push(...nodes);
    sf.push(...filters);
    sSeed.push(...list.map((r) => r.seed));
    const st = ev(list[0]!).stability;
    lines.push(
      `| ${category} | ${st.landmarks.join(', ')} | ${list.length} | **${ci(nodes)}** | ${ci(filters)} | ${versus(nodes, filters)} | ${st.nodes.kept.join(' / ')} |`,
    );
  }
  if (sn.length) {
    const perSeed = (xs: number[]) => seeds.map((sd) => mean(xs.filter((_, i) => sSeed[i] === sd)));
    lines.push(
      `| **average** | | ${sn.length} | **${ci(perSeed(sn))}** | ${ci(perSeed(sf))} | ${versus(sn, sf)} | |`,
    );
  }
  const findings: string[] = [];
  for (const k of ks) {
    const u = units[k];
    if (!u || u.graph.length < 2) continue;
    findings.push(
      `- K = ${k}: ${comparedInWords("the graph's distance", "that of each category's best baseline", pairedT(u.graph, u.best), pct(mean(u.graph), mean(u.best)))}; ${comparedInWords("the graph's distance", 'that of the best baseline given the aligned views', pairedT(u.graph, u.aligned), pct(mean(u.graph), mean(u.aligned)))}.`,
    );
  }
  if (sn.length >= 2)
    findings.push(
      `- Location instability: ${comparedInWords("the graph nodes' instability", "the raw filters'", pairedT(sn, sf), pct(mean(sn), mean(sf)))}.`,
    );
  if (findings.length)
    lines.splice(
      findingsAt,
      0,
      `## Findings (${meta.final ? 'final test' : 'dev'}; every category and seed, paired per category and seed)`,
      '',
      ...findings,
      '',
    );
  lines.push(
    '',
    "Both sides keep the same number of units per layer: the authors' 167 of VGG-16's 512 filters, scaled to the layer's filter count, ranked by the mean of their top scores. The raw filters are the zoo network's own and the held-out crops are the same for every seed, so their instability does not move with the seed (an interval of width 0); the nodes move with the seed's mining crops and initialisation.",
    '',
  );
  lines.push('## Mining time (this machine, shared with other runs; mean over seeds)', '');
  lines.push(
    '| category | layer | map | filters | nodes (mean) | EM time | per image and iteration | reading feature maps (all layers, both views, with negatives) | view agreement with facing |',
  );
  lines.push('|---|---|---|---|---|---|---|---|---|');
  for (const [category, list] of categories)
    list[0]!.layers.forEach((l, li) => {
      const ms = mean(list.map((r) => r.layers[li]!.ms));
      const per = mean(list.map((r) => r.layers[li]!.msPerImageIteration));
      lines.push(
        `| ${category} | ${l.name.split(':')[1]} | ${l.map}×${l.map} | ${l.filters} | ${mean(list.map((r) => r.layers[li]!.nodes)).toFixed(0)} | ${(ms / 1000).toFixed(1)} s | ${per.toFixed(2)} ms | ${(mean(list.map((r) => r.featureMs)) / 1000).toFixed(1)} s | ${(100 * mean(list.map((r) => ev(r).viewAgreement))).toFixed(0)} % |`,
      );
    });
  lines.push('');
  const pictures = runs.filter((r) => r.seed === seeds[0]).flatMap((r) => r.pictures);
  if (pictures.length) {
    lines.push(`## Pictures (seed ${seeds[0]}, dev crops)`, '');
    for (const p of pictures) lines.push(`![${p}](explanatory-graph/${p})`);
    lines.push(
      '',
      "Node patches: each row is one of the strongest nodes, each column an image where it fires most, the patch centred on the node's inferred position. Parts: dots are the graph's K-shot predictions, rings the annotated centres.",
    );
  }
  return `${lines.join('\n')}\n`;
}
