import type { PluginRegistry } from '@transplant/composer';
import { createPlatform } from '../container';

/** The plugin registry a composition root gets, for tests that build networks without a root. */
export function testPlugins(): PluginRegistry {
  return createPlatform({}).plugins;
}
