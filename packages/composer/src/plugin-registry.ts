import semver from 'semver';
import { TransplantError, type ModulePlugin } from '@transplant/core';

/**
 * The module plugins a composition root registers (never by import side effects). A family
 * is registered once; lookups name what is available when they fail.
 */
export class PluginRegistry {
  private readonly plugins = new Map<string, ModulePlugin>();

  constructor(plugins: readonly ModulePlugin[] = []) {
    for (const plugin of plugins) this.register(plugin);
  }

  register(plugin: ModulePlugin): this {
    if (this.plugins.has(plugin.family)) {
      throw new TransplantError('E_PLUGIN_DUPLICATE', `"${plugin.family}" is registered twice`, {
        module: plugin.family,
        operation: 'register',
      });
    }
    this.plugins.set(plugin.family, plugin);
    return this;
  }

  /**
   * The plugin of a family; with `version` (as recorded in a manifest), the registered
   * plugin must have the same major version, since options and weights may differ across majors.
   */
  get(family: string, version?: string): ModulePlugin {
    const plugin = this.plugins.get(family);
    if (!plugin) {
      throw new TransplantError(
        'E_PLUGIN_UNKNOWN',
        `"${family}"; registered: ${[...this.plugins.keys()].join(', ') || 'none'}`,
        { module: family, operation: 'getPlugin' },
      );
    }
    if (version !== undefined && semver.major(version) !== semver.major(plugin.version)) {
      throw new TransplantError(
        'E_PLUGIN_UNKNOWN',
        `the module was built by ${family}@${version}; registered is ${family}@${plugin.version}`,
        { module: family, operation: 'getPlugin' },
      );
    }
    return plugin;
  }

  list(): ModulePlugin[] {
    return [...this.plugins.values()];
  }
}
