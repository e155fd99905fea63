import type { Command } from 'commander';
import type { PartName } from '@transplant/data';
import { GRAPH_IMAGE_SEEDS } from '@transplant/explanatory-graph/options';
import type { CommandContext } from './command-context';
import { categoryOf, withNetwork } from './network-context';
import { integer, integers, nameList, usage } from './parse-options';

type LearnFlags = Record<'net' | 'shots' | 'seed' | 'pool' | 'top', string> &
  Partial<Record<'graph' | 'parts' | 'category' | 'out' | 'html', string>> & {
    attach?: boolean;
    replace?: boolean;
  };
type InspectFlags = Partial<Record<'aog' | 'net' | 'nodes', string>>;
type LocalizeFlags = Record<'net' | 'image', string> &
  Partial<Record<'aog' | 'graph' | 'category' | 'png', string>>;

/** `test:I`: the I-th held-out synthetic object crop (seed GRAPH_IMAGE_SEEDS.test). */
const TEST_IMAGE = /^test:(\d+)$/;
/** test:I draws I + 1 crops: a bound on what one command renders. */
const MAX_TEST_IMAGE = 1000;

/** `transplant aog learn | inspect | localize`: And-Or graphs of semantic parts (@transplant/explanatory-graph). */
export function aogCommands(parent: Command, ctx: CommandContext): void {
  const aog = parent
    .command('aog')
    .description(
      'And-Or graphs of semantic parts on an explanatory graph: parts → templates (views) → graph nodes → units, learned from 1–3 annotated images per part; localization as the best parse',
    );

  aog
    .command('learn')
    .description(
      'learn an AOG from a network’s explanatory graph and K annotated object crops per part; write it to a file and/or attach it to the category module in the registry',
    )
    .requiredOption('--net <ref>', 'the network the graph was mined from')
    .option('--graph <file>', 'the graph file (default: the graph attached to the category module)')
    .option('--shots <k>', 'annotated images per part (1–3 is what an AOG is for)', '3')
    .option('--seed <text>', 'seed of the shot draws', 'aog')
    .option('--pool <n>', 'annotated object crops the shots are drawn from', '100')
    .option('--top <n>', 'graph nodes per template', '10')
    .option('--parts <names>', 'parts, comma-separated (default: every annotated part of the category)')
    .option('--category <id>', 'images of this category (default: the category module’s)')
    .option('--out <file>', 'write the AOG here')
    .option('--attach', 'attach the AOG to the category module’s version in the registry')
    .option('--replace', 'with --attach: replace an AOG attached before')
    .option('--html <dir>', 'also write the graph browser with the AOG’s hierarchy (aog.html) here')
    .action(async (flags: LearnFlags) => {
      if (!flags.out && !flags.attach)
        throw usage('say where the AOG goes: --out FILE and/or --attach', 'aog');
      const k = integer(flags.shots, 'shots', 1, 'aog');
      const { pool, top } = integers(flags, { pool: 1, top: 1 }, 'aog');
      const parts = flags.parts === undefined ? undefined : nameList(flags.parts, 'parts', 'aog');
      const { formatAogSummary, learnCategoryAog, loadGraphFor, summariseAog, writeGraphBrowser } =
        await import('@transplant/explanatory-graph');
      await withNetwork(ctx, flags.net, async ({ network, link, registry }) => {
        const category = categoryOf(network, link, flags.category, 'aog');
        const graph = await loadGraphFor({
          network,
          link,
          registry,
          ...(flags.graph ? { file: flags.graph } : {}),
        });
        // Shown once the shots are learned from: a refused input ends in its one error line, no progress before it.
        const bar = ctx.progress({ label: 'aog learn', total: flags.html ? 2 : 1, every: 1 });
        const { aog, images, inference, ...written } = await learnCategoryAog({
          graph,
          network,
          link,
          category,
          pool: { count: pool, seed: GRAPH_IMAGE_SEEDS.shots },
          k,
          seed: flags.seed,
          top,
          ...(parts ? { parts } : {}),
          ...(flags.out ? { out: flags.out } : {}),
          ...(flags.attach ? { attach: { registry, replace: flags.replace === true } } : {}),
        });
        bar.update(1, { step: 'learned' });
        const html = flags.html
          ? await writeGraphBrowser(flags.html, { graph, inference, images }, { aog, images: 3 })
          : undefined;
        if (flags.html) bar.update(2, { step: 'browser written' });
        bar.done();
        const summary = summariseAog(aog, written);
        ctx.out(
          { ...summary, ...(html ? { html } : {}) },
          `${formatAogSummary(summary)}${html ? `\n  browser ${html} (the AOG: aog.html)` : ''}`,
        );
      });
    });

  aog
    .command('inspect')
    .description('what an AOG holds: its parts, templates, nodes and units, and how it was learned')
    .option('--aog <file>', 'an And-Or graph file written by `transplant aog learn --out`')
    .option('--net <ref>', 'instead: the AOG attached to this network’s category module')
    .option('--nodes <n>', 'nodes listed per template (--json lists all)', '5')
    .action(async (flags: InspectFlags) => {
      if ((flags.aog === undefined) === (flags.net === undefined))
        throw usage('name the AOG: --aog FILE or --net REF (one of them)', 'aog');
      const nodes = integer(flags.nodes ?? '5', 'nodes', 0, 'aog');
      const { formatAogSummary, loadAog, loadAogFor, summariseAog } =
        await import('@transplant/explanatory-graph');
      const { resolve } = await import('node:path');
      const show = (summary: ReturnType<typeof summariseAog>) =>
        ctx.out(summary, formatAogSummary(summary, { nodes }));
      if (flags.aog) {
        const file = resolve(flags.aog);
        show(summariseAog(await loadAog(file), { file }));
        return;
      }
      await withNetwork(ctx, flags.net!, async ({ network, link, registry }) => {
        const m = network.module(link.category);
        const aogGraph = await loadAogFor({ network, link, registry });
        show(summariseAog(aogGraph, m.published ? { attached: `${m.name}@${m.published.version}` } : {}));
      });
    });

  aog
    .command('localize')
    .description(
      'locate the parts in an image with a network’s AOG: the best parse (per part the template chosen, or that the templates tie, and the nodes that voted)',
    )
    .requiredOption('--net <ref>', 'the network the graph and AOG belong to')
    .requiredOption(
      '--image <file>',
      'a JPEG or PNG image of the object (resized to the network’s input), or test:I for held-out synthetic image I',
    )
    .option('--aog <file>', 'the And-Or graph file (default: the AOG attached to the category module)')
    .option('--graph <file>', 'the graph file (default: the graph attached to the category module)')
    .option('--category <id>', 'for test:I, images of this category (default: the category module’s)')
    .option('--png <file>', 'draw the located parts on the image here')
    .action(async (flags: LocalizeFlags) => {
      const test = TEST_IMAGE.exec(flags.image);
      if (test && Number(test[1]) >= MAX_TEST_IMAGE)
        throw usage(
          `--image ${flags.image}: held-out images are test:0 to test:${MAX_TEST_IMAGE - 1}`,
          'aog',
        );
      const lib = await import('@transplant/explanatory-graph');
      await withNetwork(ctx, flags.net, async ({ network, manifest, link, registry }) => {
        const category = categoryOf(network, link, flags.category, 'aog');
        const graph = await lib.loadGraphFor({
          network,
          link,
          registry,
          ...(flags.graph ? { file: flags.graph } : {}),
        });
        const aog = await lib.loadAogFor({
          network,
          link,
          registry,
          ...(flags.aog ? { file: flags.aog } : {}),
        });
        const index = test ? Number(test[1]) : 0;
        const images = test
          ? lib.imagesOf({ count: index + 1, seed: GRAPH_IMAGE_SEEDS.test }, category, graph.imageSize)
          : await lib.imageFileAsPartImages(flags.image, category, graph.imageSize);
        // Shown once the inputs are read: a refused input ends in its one error line, no progress before it.
        const bar = ctx.progress({ label: 'aog localize', total: 1, every: 1 });
        const { parses } = lib.localizeImagesWithAog({ aog, graph, network, link, images });
        const parse = parses[index]!;
        bar.update(1, { step: 'parsed' });
        bar.done();
        const truth = images.samples[index]!.annotation.parts;
        const parts = parse.parts.map((p) => {
          const t = truth[p.part as keyof typeof truth];
          const centre = t?.visible && t.centre ? ([t.centre[0], t.centre[1]] as const) : undefined;
          return {
            ...p,
            ...(centre
              ? { annotated: centre, distance: lib.normalizedDistance(p.point, centre, graph.imageSize) }
              : {}),
          };
        });
        let png: string | undefined;
        if (flags.png) {
          const { writeFile } = await import('node:fs/promises');
          const { resolve } = await import('node:path');
          png = resolve(flags.png);
          await writeFile(
            png,
            lib.renderLocalizedParts(images, {
              index,
              predictions: parse.parts.map((p) => ({ part: p.part as PartName, point: p.point })),
              title: `${manifest.name}: AOG parse${test ? ' (ring: annotated)' : ''}`,
            }),
          );
        }
        const report = {
          network: `${manifest.name}@${manifest.version}`,
          image: flags.image,
          ...parse,
          parts,
          ...(png ? { png } : {}),
        };
        const distances = parts.flatMap((p) =>
          'distance' in p && p.distance !== undefined ? [p.distance] : [],
        );
        ctx.out(
          report,
          [
            lib.formatAogParse(parse, { image: flags.image }),
            ...(distances.length
              ? [
                  `  normalized distance to the annotation, mean over ${distances.length} parts: ${(distances.reduce((s, d) => s + d, 0) / distances.length).toFixed(3)}`,
                ]
              : []),
            ...(png ? [`  picture ${png}`] : []),
          ].join('\n'),
        );
      });
    });
}
