import { TransplantError, isTransplantError, type ModulePlugin } from '@transplant/core';

/** The steps of building a module in which plugin code runs. */
export type PluginHook = 'options' | 'build' | 'ports' | 'apply';

/** Where plugin code runs: the plugin, the hook and the module being built. */
export interface PluginHookSite {
  readonly plugin: ModulePlugin;
  readonly hook: PluginHook;
  readonly module: string;
}

/**
 * Runs one hook of a plugin for one module. A failure names the plugin's family and version,
 * the hook and the module, and keeps the original error as `cause`: an error without a code
 * becomes E_PLUGIN_FAILED; a coded error keeps its code (it already says what is wrong) and
 * gains the plugin's name when its message does not give it.
 */
export function runPluginHook<T>(at: PluginHookSite, call: () => T): T {
  try {
    return call();
  } catch (error) {
    throw withPluginContext(error, at);
  }
}

function withPluginContext(error: unknown, { plugin, hook, module }: PluginHookSite): Error {
  const named = `${plugin.family}@${plugin.version}`;
  const details = { family: plugin.family, version: plugin.version, hook, module };
  if (isTransplantError(error)) {
    if (error.message.includes(named)) return error;
    return new TransplantError(error.code, `${named}: ${error.detail}`, {
      module,
      operation: hook,
      details: error.details ?? details,
      cause: error,
    });
  }
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return new TransplantError('E_PLUGIN_FAILED', `${named} threw ${message}`, {
    module,
    operation: hook,
    details,
    cause: error,
  });
}
