import { resolve } from 'node:path';
import { isTransplantError } from '@transplant/core';
import { createPlatform, resolveRegistryLocation } from '@transplant/platform';
import { readModuleFolder } from '@transplant/registry';

/** The options of `nx run registry:publish`; schema.json is checked against this by a test. */
export interface PublishExecutorOptions {
  readonly module: string;
  readonly registry?: string;
  /** Create the registry folder when it does not exist (as `transplant --create`); else E_REGISTRY_NOT_FOUND. */
  readonly create?: boolean;
  readonly json?: boolean;
}

export const PUBLISH_OPTION_KEYS = [
  'module',
  'registry',
  'create',
  'json',
] as const satisfies readonly (keyof PublishExecutorOptions)[];

interface ExecutorContext {
  readonly root: string;
}

/**
 * Publishes a module folder through the platform's registry opener (this executor is a
 * composition root: one container per run). Prints what `transplant registry publish` prints;
 * a coded failure is one line (or `{"error":…}` with json) and `success: false`.
 */
export default async function publishExecutor(
  options: PublishExecutorOptions,
  context: ExecutorContext,
): Promise<{ success: boolean }> {
  const platform = createPlatform(process.env);
  try {
    const registry = await platform.openRegistry(
      resolveRegistryLocation(options.registry, process.env).location,
      { create: options.create === true },
    );
    const result = await registry.publish(await readModuleFolder(resolve(context.root, options.module)));
    process.stdout.write(
      options.json
        ? `${JSON.stringify(result, null, 2)}\n`
        : `published ${result.name}@${result.version} (weights ${result.weightsDigest})\n`,
    );
    return { success: true };
  } catch (error) {
    if (!isTransplantError(error)) throw error;
    process.stderr.write(
      options.json
        ? `${JSON.stringify({ error: { code: error.code, message: error.message } })}\n`
        : `error ${error.message}\n`,
    );
    return { success: false };
  }
}
