import { resolve } from 'node:path';
import type { Command } from 'commander';
import * as tf from '@tensorflow/tfjs';
import {
  Composer,
  exportLayersModel,
  predictImage,
  publishNetwork,
  type LinkRefs,
  type Network,
} from '@transplant/composer';
import { TransplantError } from '@transplant/core';
import { isCategoryId, type CategoryId } from '@transplant/data';
import type { Registry } from '@transplant/registry';
import { builtinPlugins } from '../plugins';
import { GENERATED_BY } from '../version';
import { openCommandRegistry, selectCommandBackend, type CommandContext } from './command-context';

/** `--link CATEGORY:TASK[:ADAPTER]` (module references) → a link. */
function parseLink(text: string): LinkRefs {
  const parts = text.split(':');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => p.length === 0)) {
    throw new TransplantError(
      'E_USAGE',
      `--link "${text}" must be CATEGORY:TASK or CATEGORY:TASK:ADAPTER (module references)`,
      { operation: 'compose' },
    );
  }
  return { category: parts[0]!, task: parts[1]!, ...(parts[2] ? { adapter: parts[2] } : {}) };
}

/** The link a command acts on: the only one of a specific network, or the one named. */
export function pickLink(
  network: Network,
  o: { category?: string; task?: string },
): { category: string; task: string } {
  if (o.category || o.task) {
    const link = network.links.find(
      (l) => (!o.category || l.category === o.category) && (!o.task || l.task === o.task),
    );
    if (!link)
      throw new TransplantError(
        'E_USAGE',
        `no link matches --category ${o.category ?? '*'} --task ${o.task ?? '*'}; links: ${network.links.map((l) => `${l.category}:${l.task}`).join(', ')}`,
        { operation: 'link' },
      );
    return link;
  }
  if (network.links.length > 1)
    throw new TransplantError(
      'E_USAGE',
      `the network has ${network.links.length} links; name one with --category and --task`,
      { operation: 'link' },
    );
  return network.links[0]!;
}

/** The synthetic category a link's images come from: `given`, or its category module's; else E_USAGE. */
export function categoryOf(
  network: Network,
  link: { category: string },
  given: string | undefined,
  operation: string,
): CategoryId {
  const category = given ?? network.module(link.category).category;
  if (!category || !isCategoryId(category)) {
    throw new TransplantError(
      'E_USAGE',
      `${category ? `"${category}" is not a category of the synthetic set` : `${link.category} names no category`}; pass --category (one of the synthetic categories)`,
      { operation },
    );
  }
  return category;
}

/**
 * Selects the back end, opens the registry, loads a network and runs `fn` with the link it
 * acts on (the only one, or the one named); the network is disposed afterwards, whatever happens.
 */
export async function withNetwork<T>(
  ctx: CommandContext,
  reference: string,
  fn: (loaded: {
    network: Network;
    manifest: Awaited<ReturnType<Composer['load']>>['manifest'];
    link: { category: string; task: string };
    registry: Registry;
  }) => Promise<T>,
  choose: { category?: string; task?: string } = {},
): Promise<T> {
  const container = ctx.container();
  await selectCommandBackend(ctx, container);
  const registry = await openCommandRegistry(ctx, undefined, container);
  const { network, manifest } = await new Composer(registry, builtinPlugins()).load(reference);
  try {
    return await fn({ network, manifest, link: pickLink(network, choose), registry });
  } finally {
    network.dispose();
  }
}

/** `transplant predict | compose | export | plugins`: networks from the registry, run and shipped. */
export function networkCommands(parent: Command, ctx: CommandContext): void {
  const composer = async () => {
    const container = ctx.container();
    await selectCommandBackend(ctx, container);
    return new Composer(await openCommandRegistry(ctx, undefined, container), builtinPlugins());
  };
  const linkOptions = (cmd: Command) =>
    cmd
      .option('--category <module>', 'category module of the link (generic networks)')
      .option('--task <module>', 'task module of the link (generic networks)');

  linkOptions(
    parent
      .command('predict')
      .description('run a network on an image: a score for cls, a mask and an overlay PNG for seg'),
  )
    .requiredOption('--net <ref>', 'a network in the registry, e.g. cat-seg or cat-seg@1.0.0')
    .requiredOption('--image <file>', 'a JPEG or PNG; resized to the network input')
    .option('--out <file>', 'seg: overlay PNG to write (default <image>.<net>.png)')
    .action(async (o: { net: string; image: string; out?: string; category?: string; task?: string }) => {
      const { network } = await (await composer()).load(o.net);
      try {
        const result = await predictImage({
          network,
          link: pickLink(network, o),
          image: o.image,
          ...(o.out ? { out: o.out } : {}),
        });
        ctx.out(
          result,
          result.task === 'cls'
            ? `${result.link}: score ${result.score.toFixed(4)} (logit ${result.logit.toFixed(3)})`
            : `${result.link}: ${(result.foreground * 100).toFixed(1)}% of pixels; overlay ${result.overlay}, mask ${result.mask}`,
        );
      } finally {
        network.dispose();
      }
    });

  parent
    .command('compose')
    .description('build a network from module references, check it, and publish it as a composition')
    .requiredOption('--name <name>', 'the network name')
    .requiredOption(
      '--link <category:task[:adapter]...>',
      'a link; repeat for a generic network',
      (v: string, all: string[] = []) => [...all, v],
    )
    .option('--version <semver>', 'version to publish', '1.0.0')
    .action(async (o: { name: string; link: string[]; version: string }) => {
      const c = await composer();
      const network = await c.compose(o.link.map(parseLink));
      try {
        const published = await publishNetwork(c.registry, network, {
          name: o.name,
          version: o.version,
          generatedBy: GENERATED_BY,
          provenance: {
            data: 'composed from published modules',
            seed: 0,
            steps: 0,
            backend: tf.getBackend(),
          },
          card: { summary: `composed by transplant compose from ${o.link.join(', ')}`, metrics: [] },
        });
        ctx.out(
          { ...published, links: network.links },
          `published ${published.name}@${published.version}: ${network.links.map((l) => `${l.category} →${l.adapter ? ` ${l.adapter} →` : ''} ${l.task}`).join('; ')}`,
        );
      } finally {
        network.dispose();
      }
    });

  linkOptions(
    parent
      .command('export')
      .description(
        'write a link of a network as a TensorFlow.js LayersModel (model.json + weights.bin) for tf.loadLayersModel',
      ),
  )
    .requiredOption('--net <ref>', 'a network in the registry')
    .requiredOption('--out <dir>', 'folder to write model.json and weights.bin into')
    .action(async (o: { net: string; out: string; category?: string; task?: string }) => {
      const { network } = await (await composer()).load(o.net);
      try {
        const result = await exportLayersModel(network, pickLink(network, o), resolve(o.out), GENERATED_BY);
        ctx.out(result, `wrote ${result.files.join(' and ')} (${result.bytes} bytes of weights)`);
      } finally {
        network.dispose();
      }
    });

  parent
    .command('plugins')
    .description('list the module plugin families, with their kind and default options')
    .action(() => {
      const list = builtinPlugins()
        .list()
        .map((p) => ({
          family: p.family,
          version: p.version,
          kind: p.kind,
          ...(p.task ? { task: p.task } : {}),
          description: p.description,
          defaults: { ...new p.optionsSchema() },
        }));
      ctx.out(
        list,
        list
          .map(
            (p) =>
              `${p.family}@${p.version}  ${p.kind}${p.task ? `/${p.task}` : ''}  ${p.description}\n  defaults ${JSON.stringify(p.defaults)}`,
          )
          .join('\n'),
      );
    });
}
