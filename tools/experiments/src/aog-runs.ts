import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Network } from '@transplant/composer';
import { Rng, type CategoryId, type PartName } from '@transplant/data';
import {
  LOCALIZATION_METHODS,
  decodeGraph,
  drawWithoutReplacement,
  learnAog,
  localizeParts,
  localizeWithAog,
  mineCategoryGraph,
  normalizedDistance,
  partCentres,
  type ExplanatoryGraph,
  type FewShotResult,
  type GraphViewRule,
  type InferredImages,
  type LocalizationMethod,
} from '@transplant/explanatory-graph';
import { partImages } from '@transplant/interpretable';
import {
  GRAPH_STREAMS,
  chooseLambdas,
  graphSeedNames,
  withChosenLambdas,
  type ChosenLambdas,
  type GraphEvaluation,
} from './explanatory-graph-runs';
import { comparedInWords, formatInterval, formatP, mean, pairedT, tInterval } from './seed-stats';

/**
 * The AOG experiment (docs/methods.md §3.8) of one category and seed: the explanatory graph mined
 * as in the explanatory-graph experiment (the seed's training crops, its node initialisation),
 * then per part and K the same K-shot draws as `fewShotLocalization`: today's node retrieval and
 * the baselines (λ of the ridge baselines chosen on dev) beside an AOG learned from the same
 * shots, all scored on the same held-out crops.
 */
export interface AogRunOptions {
  readonly seed: number;
  readonly images: number;
  readonly negatives: number;
  readonly test: number;
  readonly iterations: number;
  readonly shots: readonly number[];
  readonly draws: number;
  /** Units today's retrieval and the filter ensemble vote with, and nodes per AOG template. */
  readonly top: number;
  readonly views: GraphViewRule;
  readonly lambdas: readonly number[];
  readonly final: boolean;
  /** The graph file: a run that finds one mined with these settings does not mine again. */
  readonly graphFile: string;
  readonly log: (line: string) => void;
}

/** The AOG's numbers on one part and K, over the draws and held-out crops showing the part. */
export interface AogResult {
  readonly part: PartName;
  readonly k: number;
  /** Mean normalized distance of the AOG's parse. */
  readonly distance: number;
  /**
   * Of the parses where the OR made a choice, the share that took the template of the view the
   * graph read the image in (NaN: no choice at all). Records without `ties` (made before ties were
   * told apart) counted every tie as a choice of template 0: their viewMatch is not evidence.
   */
  readonly viewMatch: number;
  /** Share of the parses where the OR made no choice (the templates tie: one is a copy, or equal scores). */
  readonly ties?: number;
  /** Share of the (draw, template) pairs whose template had no shot and is a copy of the other. */
  readonly mirrored: number;
  /** Draws no graph node fired in all shots of a view of (the AOG could not be learned; counted at the crop centre). */
  readonly unlearnable: number;
}

export interface AogEvaluation {
  readonly split: 'dev' | 'test';
  readonly stream: string;
  readonly images: number;
  /** Today's methods (`graph` is today's node retrieval), ridge baselines at every λ. */
  readonly localization: FewShotResult[];
  readonly lambda: ChosenLambdas;
  readonly aog: AogResult[];
}

export interface AogRunResult {
  readonly category: CategoryId;
  readonly seed: number;
  readonly network: string;
  readonly graphDigest: string;
  readonly dev: AogEvaluation;
  readonly final?: AogEvaluation;
  /** Seconds: mining (0 when the graph was read back), and the evaluations. */
  readonly seconds: { readonly mining: number; readonly evaluation: number };
  readonly settings: Omit<AogRunOptions, 'log' | 'graphFile' | 'final'> & {
    readonly seedNames: ReturnType<typeof graphSeedNames>;
  };
}

/** The graph file of a previous (interrupted) run of this cell, when it was mined with these settings. */
async function previousGraph(
  file: string,
  expected: { images: number; negatives: number; seed: string; iterations: number; network: string },
): Promise<ExplanatoryGraph | null> {
  if (!existsSync(file)) return null;
  try {
    const g = decodeGraph(await readFile(file));
    const same =
      g.mining.images === expected.images &&
      g.mining.negatives === expected.negatives &&
      g.mining.seed === expected.seed &&
      g.subject.network === expected.network &&
      g.layers.every((l) => l.state.params.iterations === expected.iterations);
    return same ? g : null;
  } catch {
    return null;
  }
}

/**
 * The AOG on the K-shot draws of `fewShotLocalization` (same seed, same order): per draw an AOG
 * of the part learned from the shots, its parse on every held-out crop showing the part.
 */
export function aogFewShot(
  graph: ExplanatoryGraph,
  options: {
    readonly pool: InferredImages;
    readonly test: InferredImages;
    readonly parts: readonly PartName[];
    readonly shots: readonly number[];
    readonly draws: number;
    readonly top: number;
    readonly seed: string;
  },
): AogResult[] {
  const { pool, test, parts } = options;
  const size = graph.imageSize;
  const out: AogResult[] = [];
  for (const part of parts) {
    const poolTargets = partCentres(pool.images, part);
    const testTargets = partCentres(test.images, part);
    const candidates = poolTargets.flatMap((t, i) => (t ? [i] : []));
    const evaluated = testTargets.flatMap((t, i) => (t ? [i] : []));
    if (evaluated.length === 0) continue;
    for (const k of options.shots) {
      if (candidates.length < k) continue;
      const rng = new Rng(`${options.seed}:${part}:${k}`);
      let sum = 0;
      let match = 0;
      let chosen = 0;
      let ties = 0;
      let mirrored = 0;
      let unlearnable = 0;
      for (let d = 0; d < options.draws; d++) {
        const shots = drawWithoutReplacement(candidates, k, rng);
        let aog;
        try {
          aog = learnAog(graph, pool.inference, {
            parts: [{ part, shots, targets: poolTargets }],
            top: options.top,
          });
        } catch {
          unlearnable++;
          for (const i of evaluated) sum += normalizedDistance([size / 2, size / 2], testTargets[i]!, size);
          continue;
        }
        mirrored += aog.parts[0]!.templates.filter((t) => t.source === 'mirror').length / 2;
        for (const i of evaluated) {
          const parsed = localizeWithAog(aog, test.inference, i).parts[0]!;
          sum += normalizedDistance(parsed.point, testTargets[i]!, size);
          if (parsed.template === null) ties++;
          else {
            chosen++;
            if (parsed.template === (test.inference.flips[i] ?? 0)) match++;
          }
        }
      }
      const count = options.draws * evaluated.length;
      const learned = options.draws - unlearnable;
      out.push({
        part,
        k,
        distance: sum / count,
        viewMatch: chosen ? match / chosen : NaN,
        ties: learned ? ties / (learned * evaluated.length) : NaN,
        mirrored: learned ? mirrored / learned : NaN,
        unlearnable,
      });
    }
  }
  return out;
}

/** One category and seed: mine (or read back) the graph, then evaluate on dev — and in a final run on the final test. */
export async function runAogCategory(
  subject: { readonly category: CategoryId; readonly network: Network; readonly name: string },
  options: AogRunOptions,
  previous?: AogRunResult,
): Promise<AogRunResult> {
  const { category, network, name } = subject;
  const link = network.links[0]!;
  const seedNames = graphSeedNames(category, options.seed);
  const size = network.module(link.category).ports.input.shape[1]!;
  const started = performance.now();
  let graph = await previousGraph(options.graphFile, {
    images: options.images,
    negatives: options.negatives,
    seed: seedNames.init,
    iterations: options.iterations,
    network: name,
  });
  let graphDigest: string;
  if (graph) {
    options.log(`[${category} s${options.seed}] graph read back from ${options.graphFile}`);
    graphDigest = (await import('@transplant/core')).sha256Digest(await readFile(options.graphFile));
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
        if (p.iteration === p.iterations)
          options.log(`[${category} s${options.seed}] ${p.layer} EM ${p.iteration}/${p.iterations}`);
      },
    });
    graph = mined.graph;
    graphDigest = mined.digest!;
    // Another graph: a previous result's numbers belong to the old one.
    previous = undefined;
  }
  const mining = (performance.now() - started) / 1000;
  const mined = graph;
  const pool = partImages(category, { count: options.images, size, crop: true, seed: seedNames.mine });

  const evaluate = async (split: 'dev' | 'test', lambda?: ChosenLambdas): Promise<AogEvaluation> => {
    const stream = split === 'dev' ? GRAPH_STREAMS.dev : GRAPH_STREAMS.final;
    const localized = await localizeParts({
      graph: mined,
      network,
      link,
      category,
      pool,
      test: { count: options.test, seed: stream },
      shots: options.shots,
      draws: options.draws,
      top: options.top,
      seed: seedNames.draws,
      lambdas: options.lambdas,
    });
    const aog = aogFewShot(mined, {
      pool: localized.pool,
      test: localized.test,
      parts: localized.parts,
      shots: options.shots,
      draws: options.draws,
      top: options.top,
      seed: seedNames.draws,
    });
    options.log(`[${category} s${options.seed}] ${split}: ${aog.length} part × K cells`);
    return {
      split,
      stream,
      images: options.test,
      localization: localized.results,
      lambda: lambda ?? chooseLambdas(localized.results, options.lambdas),
      aog,
    };
  };
  const t0 = performance.now();
  const dev = previous?.dev ?? (await evaluate('dev'));
  const final = options.final ? await evaluate('test', dev.lambda) : undefined;
  return {
    category,
    seed: options.seed,
    network: name,
    graphDigest,
    dev,
    ...(final ? { final } : {}),
    seconds: {
      mining: previous ? previous.seconds.mining : mining,
      evaluation: (previous ? previous.seconds.evaluation : 0) + (performance.now() - t0) / 1000,
    },
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
      lambdas: options.lambdas,
      seedNames,
    },
  };
}

const ci = (xs: readonly number[]) => formatInterval(tInterval(xs));

function pct(value: number, reference: number): string {
  if (!Number.isFinite(value) || !Number.isFinite(reference) || reference === 0) return '–';
  const change = (100 * (value - reference)) / reference;
  return `${change > 0 ? '+' : '−'}${Math.abs(change).toFixed(0)} %`;
}

function versus(a: readonly number[], b: readonly number[]): string {
  if (a.length < 2) return pct(mean(a), mean(b));
  return `${pct(mean(a), mean(b))} (p ${formatP(pairedT(a, b).p)})`;
}

const BASELINES: LocalizationMethod[] = ['filter-best', 'filter-ensemble', 'pooled-linear'];
const ALIGNED: LocalizationMethod[] = ['filter-ensemble-aligned', 'pooled-linear-aligned'];

/** Per K, the mean over the category's parts of each method (today's, at the dev λ) and of the AOG. */
function averages(
  ev: AogEvaluation,
  lambdas: readonly number[],
  k: number,
):
  | (Record<LocalizationMethod, number> & { aog: number; viewMatch: number; ties: number; mirrored: number })
  | null {
  const rows = withChosenLambdas(ev as unknown as GraphEvaluation, lambdas).filter((r) => r.k === k);
  const aog = ev.aog.filter((r) => r.k === k);
  if (rows.length === 0 || aog.length === 0) return null;
  return {
    ...(Object.fromEntries(
      LOCALIZATION_METHODS.map((m) => [m, mean(rows.map((r) => r.distance[m]))]),
    ) as Record<LocalizationMethod, number>),
    aog: mean(aog.map((r) => r.distance)),
    viewMatch: mean(aog.map((r) => r.viewMatch).filter(Number.isFinite)),
    ties: mean(aog.map((r) => r.ties ?? NaN).filter(Number.isFinite)),
    mirrored: mean(aog.map((r) => r.mirrored).filter(Number.isFinite)),
  };
}

/**
 * The Markdown report: per category and K the AOG beside today's node retrieval and the
 * baselines, each cell the mean over seeds [95 % t interval]; comparisons by paired t tests
 * over seeds (per category) or category × seed units (averages). `final`: final-test numbers.
 */
export function formatAogReport(
  all: readonly AogRunResult[],
  meta: { backend: string; machine: string; command: string; final: boolean },
): string {
  const evOf = (r: AogRunResult) => (meta.final ? r.final : r.dev);
  const runs = all.filter((r) => evOf(r));
  const missing = all.filter((r) => !evOf(r));
  const s = runs[0]?.settings;
  const lambdas = s?.lambdas ?? [];
  const seeds = [...new Set(runs.map((r) => r.seed))].sort((a, b) => a - b);
  const categories = new Map<CategoryId, AogRunResult[]>();
  for (const r of runs) categories.set(r.category, [...(categories.get(r.category) ?? []), r]);
  for (const list of categories.values()) list.sort((a, b) => a.seed - b.seed);
  const lines: string[] = [
    meta.final
      ? '# And-Or graphs of semantic parts on the synthetic data (docs/methods.md §3.8): final test'
      : '# And-Or graphs of semantic parts on the synthetic data (docs/methods.md §3.8): dev numbers, not the final test',
    '',
    `Regenerate: \`${meta.command}\` (resumable: one JSON per category and seed under \`aog/runs/\`; cells split over worker processes). Back end ${meta.backend}; machine ${meta.machine}.`,
    meta.final
      ? `Protocol (docs/protocol.md): every choice made on the dev crops (\`${GRAPH_STREAMS.dev}\`); the numbers below are on ${s?.test ?? '–'} final-test crops (\`${GRAPH_STREAMS.final}\`), read once, with the ridge λ chosen on dev.`
      : `Protocol (docs/protocol.md): **dev** numbers, on the ${s?.test ?? '–'} \`${GRAPH_STREAMS.dev}\` crops, with the ridge baselines' λ chosen on the same crops (which favours the baselines). Only \`--final\` reads the final-test crops.`,
  ];
  if (s)
    lines.push(
      `Settings: per category and seed, an explanatory graph of \`<category>-cls\` (its category module's top two conv layers) mined on ${s.images} object crops with ${s.negatives} background scenes, ${s.iterations} EM iterations per layer, views rule \`${s.views}\`. K ∈ {${s.shots.join(', ')}} annotated crops per part drawn ${s.draws} times from the mining crops — the same draws for every method. Today's node retrieval ("graph") and the filter ensemble vote with their top ${s.top} units; the AOG keeps up to ${s.top} nodes per template, two templates (views) per part; the ridge baselines choose λ per K from {${lambdas.join(', ')}} on dev.`,
    );
  lines.push(
    `Seeds: ${seeds.join(', ')}. Every cell: mean over seeds [95 % t interval over seeds]; p: two-sided paired t test. Category rows: n = seeds, the units of both the interval and the test. Average rows: the test pairs category × seed units (n units), the interval is over the seeds' means over categories (n seeds). **Bold**: the lowest distance of the row.`,
  );
  if (missing.length)
    lines.push('', `Not in this report: ${missing.map((r) => `${r.category} seed ${r.seed}`).join(', ')}.`);
  lines.push('');
  const findingsAt = lines.length;
  // The OR statistics mean something only where the records tell ties from choices.
  const orMeasured = runs.every((r) => evOf(r)!.aog.every((a) => typeof a.ties === 'number'));
  lines.push(
    "## K-shot part localization: normalized distance (lower is better), mean over the category's parts",
    '',
    `| category | K | n | AOG | today's node retrieval | AOG vs today's | best baseline (chosen on dev) | best aligned baseline (chosen on dev) | AOG vs best aligned |${orMeasured ? " OR made no choice (tie) | OR took the image's view (of its choices) |" : ''} templates copied |`,
    `|---|---|---|---|---|---|---|---|---|${orMeasured ? '---|---|' : ''}---|`,
  );
  /** A mean share as a percentage ('–' where there is none, e.g. no OR choice at all). */
  const share = (xs: readonly number[]) => {
    const m = mean(xs.filter(Number.isFinite));
    return Number.isFinite(m) ? `${(100 * m).toFixed(0)} %` : '–';
  };
  /** The cells of a row, the lowest mean in bold. */
  const bolded = (cols: readonly (readonly number[])[]) => {
    const low = Math.min(...cols.map((c) => mean(c)));
    return cols.map((c) => (mean(c) === low ? `**${ci(c)}**` : ci(c)));
  };
  const ks = s?.shots ?? [];
  const units: Record<
    number,
    {
      aog: number[];
      graph: number[];
      best: number[];
      aligned: number[];
      seed: number[];
      ties: number[];
      view: number[];
      copied: number[];
    }
  > = {};
  for (const [category, list] of categories)
    for (const k of ks) {
      const per = list.map((r) => averages(evOf(r)!, lambdas, k)).filter((a) => a !== null);
      if (per.length === 0) continue;
      const col = (m: LocalizationMethod | 'aog' | 'viewMatch' | 'ties' | 'mirrored') => per.map((a) => a[m]);
      // The best baselines are chosen on dev (as λ is) and carried over to the final test.
      const onDev = list.map((r) => averages(r.dev, lambdas, k)).filter((a) => a !== null);
      const bestOf = (methods: LocalizationMethod[]) =>
        methods.reduce((b, m) => (mean(onDev.map((a) => a[m])) < mean(onDev.map((a) => a[b])) ? m : b));
      const best = bestOf(BASELINES);
      const aligned = bestOf(ALIGNED);
      const u = (units[k] ??= {
        aog: [],
        graph: [],
        best: [],
        aligned: [],
        seed: [],
        ties: [],
        view: [],
        copied: [],
      });
      u.aog.push(...col('aog'));
      u.graph.push(...col('graph'));
      u.best.push(...col(best));
      u.aligned.push(...col(aligned));
      u.seed.push(...list.map((r) => r.seed));
      u.ties.push(...col('ties'));
      u.view.push(...col('viewMatch'));
      u.copied.push(...col('mirrored'));
      const [a, g, b, al] = bolded([col('aog'), col('graph'), col(best), col(aligned)]);
      lines.push(
        `| ${category} | ${k} | ${per.length} | ${a} | ${g} | ${versus(col('aog'), col('graph'))} | ${b} (${best}) | ${al} (${aligned}) | ${versus(col('aog'), col(aligned))} |${orMeasured ? ` ${share(col('ties'))} | ${share(col('viewMatch'))} |` : ''} ${share(col('mirrored'))} |`,
      );
    }
  for (const k of ks) {
    const u = units[k];
    if (!u) continue;
    const perSeed = (xs: number[]) => seeds.map((sd) => mean(xs.filter((_, i) => u.seed[i] === sd)));
    const [a, g, b, al] = bolded([perSeed(u.aog), perSeed(u.graph), perSeed(u.best), perSeed(u.aligned)]);
    lines.push(
      `| average (${categories.size} categories) | ${k} | ${u.aog.length} units / ${seeds.length} seeds | ${a} | ${g} | ${versus(u.aog, u.graph)} | ${b} | ${al} | ${versus(u.aog, u.aligned)} |${orMeasured ? ` ${share(u.ties)} | ${share(u.view)} |` : ''} ${share(u.copied)} |`,
    );
  }
  lines.push(
    '',
    `Today's node retrieval: the graph's nodes ranked by mean shot score / (spread + floor), the top ones voting (\`graph localize\`). AOG: the shots split by the view the graph read them in, one template per view (a view without a shot gets a copy of the other template), nodes weighted by mean score / (spread² + floor²) with the spread shrunk towards the node's σ; the parse takes the template with the most weighted evidence. Both templates apply in the graph's aligned frame, so they differ only in the shots they learned from, not in pose. Best baseline: per category and K, the baseline (best raw filter, raw-filter ensemble, pooled features + linear) with the lowest mean on dev — the same one in a final report; best aligned: the same for the two baselines given the graph's view choice. *Templates copied*: share of templates learned from no shot of their own (a copy of the other, so the parse makes no OR choice).${orMeasured ? " *OR made no choice*: share of parses whose templates tie (a copy, or equal scores). *OR took the image's view*: of the parses with a choice, the share that took the template of the view the graph read the test crop in (–: no parse had a choice). Shares are means over the part cells (and seeds)." : ' These runs counted a tie of the two templates as a choice of template 0, so what the OR chose is not reported: it was not measured.'}`,
    '',
  );
  const unlearnable = runs.flatMap((r) => evOf(r)!.aog).reduce((t, r) => t + r.unlearnable, 0);
  lines.push(
    `Draws whose AOG could not be learned (no node fired in every shot of a view; scored at the crop centre): ${unlearnable}.`,
    '',
  );
  lines.push(
    '### Per part (mean over seeds)',
    '',
    "| category | part | K | n | AOG | today's node retrieval |",
    '|---|---|---|---|---|---|',
  );
  for (const [category, list] of categories) {
    const parts = [...new Set(list.flatMap((r) => evOf(r)!.aog.map((a) => a.part)))];
    for (const part of parts)
      for (const k of ks) {
        const aog = list.flatMap((r) =>
          evOf(r)!
            .aog.filter((a) => a.part === part && a.k === k)
            .map((a) => a.distance),
        );
        const graph = list.flatMap((r) =>
          evOf(r)!
            .localization.filter((a) => a.part === part && a.k === k)
            .map((a) => a.distance.graph),
        );
        if (aog.length)
          lines.push(`| ${category} | ${part} | ${k} | ${aog.length} | ${ci(aog)} | ${ci(graph)} |`);
      }
  }
  lines.push(
    '',
    '## Time (this machine, shared; mean over seeds)',
    '',
    '| category | mining (s) | evaluation (s) |',
    '|---|---|---|',
  );
  for (const [category, list] of categories)
    lines.push(
      `| ${category} | ${mean(list.map((r) => r.seconds.mining)).toFixed(0)} | ${mean(list.map((r) => r.seconds.evaluation)).toFixed(0)} |`,
    );
  const findings: string[] = [];
  for (const k of ks) {
    const u = units[k];
    if (!u || u.aog.length < 2) continue;
    findings.push(
      `- K = ${k}: ${comparedInWords("the AOG's distance", "that of today's node retrieval", pairedT(u.aog, u.graph), pct(mean(u.aog), mean(u.graph)))}; ${comparedInWords("the AOG's distance", "that of each category's best baseline", pairedT(u.aog, u.best), pct(mean(u.aog), mean(u.best)))}; ${comparedInWords("the AOG's distance", 'that of the best aligned baseline', pairedT(u.aog, u.aligned), pct(mean(u.aog), mean(u.aligned)))}.`,
    );
  }
  if (findings.length)
    lines.splice(
      findingsAt,
      0,
      `## Findings (${meta.final ? 'final test' : 'dev'}; paired per category and seed)`,
      '',
      ...findings,
      '',
    );
  return `${lines.join('\n')}\n`;
}
