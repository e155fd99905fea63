import type { Composer, Network } from '@transplant/composer';
import { TransplantError } from '@transplant/core/options';
import { isCategoryId, type CategoryId } from '@transplant/data/options';
import type { Registry } from '@transplant/registry';
import { openCommandRegistry, selectCommandBackend, type CommandContext } from './command-context';

/** The link a command acts on: the only one of a specific network, or the one named. */
export function pickLink(
  network: Network,
  options: { category?: string; task?: string },
): { category: string; task: string } {
  if (options.category || options.task) {
    const link = network.links.find(
      (l) =>
        (!options.category || l.category === options.category) && (!options.task || l.task === options.task),
    );
    if (!link)
      throw new TransplantError(
        'E_USAGE',
        `no link matches --category ${options.category ?? '*'} --task ${options.task ?? '*'}; links: ${network.links.map((l) => `${l.category}:${l.task}`).join(', ')}`,
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
  const composer = await commandComposer(ctx);
  const { network, manifest } = await composer.load(reference);
  try {
    return await fn({ network, manifest, link: pickLink(network, choose), registry: composer.registry });
  } finally {
    network.dispose();
  }
}

/**
 * A composer on the registry the command names, with the built-in plugins, after selecting the
 * back end; `write` for a command that publishes (`--create` may then create the registry).
 */
export async function commandComposer(
  ctx: CommandContext,
  options: { readonly write?: boolean } = {},
): Promise<Composer> {
  await selectCommandBackend(ctx);
  const { Composer } = await import('@transplant/composer');
  return new Composer(await openCommandRegistry(ctx, undefined, options), ctx.services().plugins);
}
