import { Composer } from '@transplant/composer';
import type { GenericContext } from '@transplant/distill';
import { builtinPlugins } from '../plugins';
import { GENERATED_BY } from '../version';
import { openCommandRegistry, selectCommandBackend, type CommandContext } from './command-context';

/** What the generic-network workflows need: a composer on the registry, the back end, a log. */
export async function genericContext(ctx: CommandContext): Promise<GenericContext> {
  const container = ctx.container();
  const selection = await selectCommandBackend(ctx, container);
  const composer = new Composer(await openCommandRegistry(ctx, undefined, container), builtinPlugins());
  return {
    composer,
    generatedBy: GENERATED_BY,
    backend: selection.id,
    log: (line) => ctx.err(`${line}\n`),
  };
}
