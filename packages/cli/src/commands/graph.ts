import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { Network } from '@transplant/composer';
import { TransplantError } from '@transplant/core';
import { PART_NAMES, type PartName } from '@transplant/data';
import {
  GRAPH_VIEW_RULES,
  LOCALIZATION_METHODS,
  decodeGraph,
  encodeGraph,
  fewShotLocalization,
  graphSize,
  inferGraph,
  kShotPredictions,
  loadGraph,
  mineGraph,
  renderLocalizedParts,
  renderNodePatches,
  saveGraph,
  writeGraphBrowser,
  type ExplanatoryGraph,
  type GraphViewRule,
  type LocalizationMethod,
} from '@transplant/explanatory-graph';
import { backgroundImages, partImages } from '@transplant/interpretable';
import type { Registry } from '@transplant/registry';
import type { CommandContext } from './command-context';
import { categoryOf, withNetwork } from './networks';
import { integer } from './transplant';

/** The registry attachment kind graphs are stored under, on their category module's version. */
export const GRAPH_ATTACHMENT = 'explanatory-graph';

const usage = (message: string) => new TransplantError('E_USAGE', message, { operation: 'graph' });

export interface GraphSummary {
  readonly subject: ExplanatoryGraph['subject'];
  readonly layers: {
    name: string;
    filters: number;
    nodesPerFilter: number;
    nodes: number;
    map: string;
    iterations: number;
  }[];
  readonly nodes: number;
  readonly views: GraphViewRule;
  readonly mining: { images: number; negatives: number; data: string; seconds: number };
  readonly digest?: string;
  readonly file?: string;
  readonly attached?: string;
  readonly html?: string;
}

function summarise(graph: ExplanatoryGraph, extra: Partial<GraphSummary> = {}): GraphSummary {
  const size = graphSize(graph);
  return {
    subject: graph.subject,
    layers: graph.layers.map((l, i) => ({
      name: l.name,
      filters: l.state.filters,
      nodesPerFilter: l.state.params.nodesPerFilter,
      nodes: size.perLayer[i]!,
      map: `${l.state.geometry.h}×${l.state.geometry.w}`,
      iterations: l.state.params.iterations,
    })),
    nodes: size.total,
    views: graph.views.rule,
    mining: {
      images: graph.mining.images,
      negatives: graph.mining.negatives,
      data: graph.mining.data,
      seconds: (graph.mining.featureMs + graph.mining.layerMs.reduce((s, v) => s + v, 0)) / 1000,
    },
    ...extra,
  };
}

function formatSummary(s: GraphSummary): string {
  return [
    `explanatory graph of ${s.subject.module}${s.subject.version ? `@${s.subject.version}` : ''} (${s.subject.network}): ${s.nodes} nodes, views ${s.views}`,
    ...s.layers.map(
      (l) =>
        `  ${l.name}  map ${l.map}, ${l.filters} filters × ${l.nodesPerFilter} nodes = ${l.nodes}, ${l.iterations} EM iterations`,
    ),
    `  mined from ${s.mining.images} images (+${s.mining.negatives} negatives) in ${s.mining.seconds.toFixed(1)} s: ${s.mining.data}`,
    ...(s.file ? [`  file ${s.file}${s.digest ? ` (${s.digest})` : ''}`] : []),
    ...(s.attached ? [`  attached to ${s.attached} in the registry`] : []),
    ...(s.html ? [`  browser ${s.html}`] : []),
  ].join('\n');
}

/** A graph from a file, or the one attached to the network's category module in the registry. */
async function graphFor(
  registry: Registry,
  network: Network,
  link: { category: string },
  file: string | undefined,
): Promise<ExplanatoryGraph> {
  if (file) return loadGraph(resolve(file));
  const m = network.module(link.category);
  if (!m.published) throw usage(`${m.name} is not from the registry; pass --graph FILE`);
  const { bytes } = await registry.attachment(`${m.name}@${m.published.version}`, GRAPH_ATTACHMENT);
  return decodeGraph(bytes);
}

/** `transplant graph mine | nodes | inspect | localize`. */
export function graphCommands(parent: Command, ctx: CommandContext): void {
  const graph = parent
    .command('graph')
    .description(
      'explanatory graphs: part patterns mined from a network’s conv layers, and few-shot part localization with them',
    );

  graph
    .command('mine')
    .description(
      'mine an explanatory graph from a network’s category module, on object crops of its category (no part labels); write it to a file and/or attach it to the module in the registry',
    )
    .requiredOption('--net <ref>', 'a network in the registry, e.g. bird-cls')
    .option('--out <file>', 'write the graph here')
    .option('--attach', 'attach the graph to the category module’s version in the registry')
    .option('--replace', 'with --attach: replace a graph attached before')
    .option('--images <n>', 'mining images (object crops)', '200')
    .option('--negatives <n>', 'background scenes for the activation normaliser', '100')
    .option('--iterations <n>', 'EM iterations per layer', '20')
    .option(
      '--layers <names>',
      'conv layers, top first, comma-separated (default: the category module’s top two)',
    )
    .option('--views <rule>', `how each image is mirrored or not: ${GRAPH_VIEW_RULES.join(', ')}`, 'align')
    .option('--category <id>', 'images of this category (default: the category module’s)')
    .option('--html <dir>', 'also write the HTML browser here')
    .option('--seed <text>', 'seed of the node initialisation', 'explanatory-graph')
    .action(
      async (o: {
        net: string;
        out?: string;
        attach?: boolean;
        replace?: boolean;
        images: string;
        negatives: string;
        iterations: string;
        layers?: string;
        views: string;
        category?: string;
        html?: string;
        seed: string;
      }) => {
        if (!o.out && !o.attach) throw usage('say where the graph goes: --out FILE and/or --attach');
        if (!GRAPH_VIEW_RULES.includes(o.views as GraphViewRule))
          throw usage(`--views must be one of ${GRAPH_VIEW_RULES.join(', ')}`);
        const images = integer(o.images, 'images', 2, 'graph');
        const negativeCount = integer(o.negatives, 'negatives', 2, 'graph');
        const iterations = integer(o.iterations, 'iterations', 1, 'graph');
        await withNetwork(ctx, o.net, async ({ network, manifest, link, registry }) => {
          const category = categoryOf(network, link, o.category, 'graph');
          const size = network.module(link.category).ports.input.shape[1]!;
          const mining = partImages(category, { count: images, size, crop: true, seed: 'graph-mine' });
          const { graph: mined } = mineGraph(
            network,
            link,
            mining,
            backgroundImages(category, { count: negativeCount, size, seed: 'graph-negatives' }),
            {
              network: `${manifest.name}@${manifest.version}`,
              iterations,
              views: o.views as GraphViewRule,
              seed: o.seed,
              ...(o.layers ? { layers: o.layers.split(',').filter(Boolean) } : {}),
              onProgress: (p) =>
                ctx.err(`${p.layer}: EM ${p.iteration}/${p.iterations} (${(p.ms / 1000).toFixed(1)} s)\n`),
            },
          );
          const extra: Partial<GraphSummary> = {};
          if (o.out) {
            const file = resolve(o.out);
            Object.assign(extra, { file, digest: await saveGraph(mined, file) });
          }
          if (o.attach) {
            const m = network.module(link.category);
            const r = await registry.attach(
              `${m.name}@${m.published!.version}`,
              GRAPH_ATTACHMENT,
              encodeGraph(mined),
              { replace: o.replace === true },
            );
            Object.assign(extra, { attached: `${r.name}@${r.version}`, digest: r.digest });
          }
          if (o.html)
            Object.assign(extra, {
              html: await writeGraphBrowser(
                resolve(o.html),
                mined,
                inferGraph(mined, network, link, mining),
                mining,
                { title: `Explanatory graph of ${manifest.name}@${manifest.version}` },
              ),
            });
          const summary = summarise(mined, extra);
          ctx.out(summary, formatSummary(summary));
        });
      },
    );

  graph
    .command('nodes')
    .description('PNG of image patches where given nodes fire most (held-out object crops), one row per node')
    .requiredOption('--net <ref>', 'the network the graph was mined from')
    .requiredOption(
      '--nodes <list>',
      'LAYER:NODE pairs, comma-separated (layer 0 is the top graph layer), e.g. 0:12,1:40',
    )
    .requiredOption('--png <file>', 'where the picture goes')
    .option(
      '--graph <file>',
      'the graph file (default: the graph attached to the category module in the registry)',
    )
    .option('--images <n>', 'held-out images to search', '100')
    .option('--columns <n>', 'patches per node', '8')
    .option('--category <id>', 'images of this category (default: the category module’s)')
    .action(
      async (o: {
        net: string;
        nodes: string;
        png: string;
        graph?: string;
        images: string;
        columns: string;
        category?: string;
      }) => {
        const count = integer(o.images, 'images', 1, 'graph');
        const columns = integer(o.columns, 'columns', 1, 'graph');
        await withNetwork(ctx, o.net, async ({ network, link, registry }) => {
          const g = await graphFor(registry, network, link, o.graph);
          const refs = o.nodes
            .split(',')
            .filter(Boolean)
            .map((pair) => {
              const [layer, node] = pair.split(':').map(Number);
              const nodes = graphSize(g).perLayer[layer ?? -1];
              if (
                !Number.isInteger(layer) ||
                !Number.isInteger(node) ||
                nodes === undefined ||
                node! < 0 ||
                node! >= nodes
              ) {
                throw usage(
                  `"${pair}" is not a node: use LAYER:NODE with layer 0…${g.layers.length - 1} and node 0…(nodes − 1) (${graphSize(g).perLayer.join(', ')} nodes per layer)`,
                );
              }
              return { layer: layer!, node: node! };
            });
          const images = partImages(categoryOf(network, link, o.category, 'graph'), {
            count,
            size: g.imageSize,
            crop: true,
            seed: 'graph-test',
          });
          const inference = inferGraph(g, network, link, images);
          const png = resolve(o.png);
          const perFilter = (l: number) => g.layers[l]!.state.params.nodesPerFilter;
          await writeFile(
            png,
            renderNodePatches(inference, images, refs, {
              images: columns,
              patchFor: (r) => Math.max(12, 3 * g.layers[r.layer]!.state.geometry.scale),
              captions: refs.map(
                (r) =>
                  `${g.layers[r.layer]!.name} · filter ${Math.floor(r.node / perFilter(r.layer))} · node ${r.node}`,
              ),
            }),
          );
          ctx.out({ png, nodes: refs }, `patches of ${refs.length} node(s): ${png}`);
        });
      },
    );

  graph
    .command('inspect')
    .description('what a graph file holds: the module it explains, its layers and nodes, how it was mined')
    .requiredOption('--graph <file>', 'a graph file written by `transplant graph mine --out`')
    .action(async (o: { graph: string }) => {
      const file = resolve(o.graph);
      const g = await loadGraph(file);
      const summary = summarise(g, { file });
      ctx.out(summary, formatSummary(summary));
    });

  graph
    .command('localize')
    .description(
      'few-shot part localization with a network’s graph on held-out object crops, against the raw-filter and pooled-feature baselines (normalized distance, methods.md §1.5)',
    )
    .requiredOption('--net <ref>', 'the network the graph was mined from')
    .option(
      '--graph <file>',
      'the graph file (default: the graph attached to the category module in the registry)',
    )
    .option(
      '--parts <names>',
      'parts to localize, comma-separated (default: every annotated part of the category)',
    )
    .option('--shots <k>', 'annotated images per part (K), comma-separated', '3')
    .option('--pool <n>', 'images the K shots are drawn from', '100')
    .option('--test <n>', 'held-out test images', '100')
    .option('--draws <n>', 'random draws of the K shots', '10')
    .option('--category <id>', 'images of this category (default: the category module’s)')
    .option('--png <file>', 'also draw the graph’s K-shot predictions (first K) on a test image')
    .option('--index <i>', 'which test image --png draws', '0')
    .action(
      async (o: {
        net: string;
        graph?: string;
        parts?: string;
        shots: string;
        pool: string;
        test: string;
        draws: string;
        category?: string;
        png?: string;
        index: string;
      }) => {
        const shots = o.shots.split(',').map((k) => integer(k, 'shots', 1, 'graph'));
        const poolCount = integer(o.pool, 'pool', 1, 'graph');
        const testCount = integer(o.test, 'test', 1, 'graph');
        const draws = integer(o.draws, 'draws', 1, 'graph');
        const index = integer(o.index, 'index', 0, 'graph');
        if (index >= testCount) throw usage(`--index ${index} is past the ${testCount} test images`);
        await withNetwork(ctx, o.net, async ({ network, manifest, link, registry }) => {
          const g = await graphFor(registry, network, link, o.graph);
          const category = categoryOf(network, link, o.category, 'graph');
          const size = g.imageSize;
          const pool = partImages(category, { count: poolCount, size, crop: true, seed: 'graph-shots' });
          const test = partImages(category, { count: testCount, size, crop: true, seed: 'graph-test' });
          const annotated = (Object.keys(pool.samples[0]?.annotation.parts ?? {}) as PartName[]).filter((p) =>
            pool.samples.some((s) => s.annotation.parts[p]?.visible),
          );
          const parts = o.parts ? o.parts.split(',').filter(Boolean) : annotated;
          for (const p of parts)
            if (!annotated.includes(p as PartName))
              throw usage(
                `"${p}" is not an annotated part of ${category}; parts: ${annotated.join(', ')} (all parts: ${PART_NAMES.join(', ')})`,
              );
          const poolInference = inferGraph(g, network, link, pool);
          const testInference = inferGraph(g, network, link, test);
          const results = fewShotLocalization(
            g,
            { images: pool, inference: poolInference },
            { images: test, inference: testInference },
            parts as PartName[],
            { shots, draws, top: 10, seed: 'graph-localize' },
          );
          let png: string | undefined;
          if (o.png) {
            png = resolve(o.png);
            const k = shots[0]!;
            const predictions = kShotPredictions(
              g,
              { images: pool, inference: poolInference },
              testInference,
              parts as PartName[],
              k,
              index,
            );
            await writeFile(
              png,
              renderLocalizedParts(test, index, predictions, {
                title: `${manifest.name}: ${k}-shot parts (dot: graph, ring: annotated)`,
              }),
            );
          }
          const report = {
            network: `${manifest.name}@${manifest.version}`,
            category,
            results,
            ...(png ? { png } : {}),
          };
          const names: Record<LocalizationMethod, string> = {
            graph: 'graph',
            'filter-best': 'best filter',
            'filter-ensemble': 'filters',
            'pooled-linear': 'pooled+linear',
            'filter-ensemble-aligned': 'filters (aligned)',
            'pooled-linear-aligned': 'pooled+linear (aligned)',
          };
          const text = [
            `${report.network} · ${category} · normalized distance (lower is better), ${draws} draws, ${testCount} test crops`,
            `  part        K  ${LOCALIZATION_METHODS.map((m) => names[m].padStart(12)).join(' ')}`,
            ...results.map(
              (r) =>
                `  ${r.part.padEnd(10)} ${String(r.k).padStart(2)}  ${LOCALIZATION_METHODS.map((m) => r.distance[m].toFixed(3).padStart(12)).join(' ')}`,
            ),
            ...(png ? [`  picture ${png}`] : []),
          ].join('\n');
          ctx.out(report, text);
        });
      },
    );
}
