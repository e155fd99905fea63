import { Composer } from '@transplant/composer';
import type { GenericContext } from '@transplant/distill';
import { openCommandRegistry, selectCommandBackend, type CommandContext } from './command-context';

/** What the generic-network workflows need: a composer on the registry, the back end, a log. */
export async function genericContext(ctx: CommandContext): Promise<GenericContext> {
  const selection = await selectCommandBackend(ctx);
  const composer = new Composer(await openCommandRegistry(ctx), ctx.services().plugins);
  return {
    composer,
    generatedBy: ctx.services().generatedBy,
    backend: selection.id,
    log: (line) => ctx.err(`${line}\n`),
  };
}
