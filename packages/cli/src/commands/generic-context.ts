import type { GenericContext } from '@transplant/distill';
import { openCommandRegistry, selectCommandBackend, type CommandContext } from './command-context';

/**
 * What the training workflows (transplant, the generic-network changes) need: a composer on the
 * registry, the back end in use and `generatedBy`.
 */
export async function trainingContext(ctx: CommandContext): Promise<Omit<GenericContext, 'log'>> {
  const selection = await selectCommandBackend(ctx);
  const { Composer } = await import('@transplant/composer');
  const composer = new Composer(
    await openCommandRegistry(ctx, undefined, { write: true }),
    ctx.services().plugins,
  );
  return { composer, generatedBy: ctx.services().generatedBy, backend: selection.id };
}

/** What the generic-network workflows need: the {@link trainingContext} and a log. */
export async function genericContext(ctx: CommandContext): Promise<GenericContext> {
  return { ...(await trainingContext(ctx)), log: (line) => ctx.err(`${line}\n`) };
}
