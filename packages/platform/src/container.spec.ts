import { describe, expect, it } from 'vitest';
import { COMPOSER_TOKENS } from '@transplant/composer';
import { CORE_TOKENS, type ModulePlugin } from '@transplant/core';
import { REGISTRY_TOKENS, folderStoreFactory, ociStoreFactory } from '@transplant/registry';
import { BUILTIN_PLUGINS } from './builtin-plugins';
import { createPlatform, createPlatformContainer } from './container';
import { testPlugins } from './testing';
import { GENERATED_BY, TRANSPLANT_VERSION } from './version';

describe('the platform container', () => {
  it('binds every built-in plugin as a contribution, and the plugin registry holds exactly them', () => {
    const container = createPlatformContainer({ env: {} });
    expect(container.getAll<ModulePlugin>(COMPOSER_TOKENS.ModulePlugin)).toEqual(BUILTIN_PLUGINS);
    expect(createPlatform({}).plugins.list()).toEqual([...BUILTIN_PLUGINS]);
    expect(testPlugins().list()).toEqual([...BUILTIN_PLUGINS]);
  });

  it('binds the OCI and folder stores, OCI first, and the version as generatedBy', () => {
    const container = createPlatformContainer({ env: {} });
    expect(container.getAll(REGISTRY_TOKENS.StoreFactory)).toEqual([ociStoreFactory, folderStoreFactory]);
    expect(container.get(CORE_TOKENS.GeneratedBy)).toBe(GENERATED_BY);
    expect(GENERATED_BY).toBe(`transplant/${TRANSPLANT_VERSION}`);
  });

  it('builds a separate container per composition root', () => {
    expect(createPlatform({}).plugins).not.toBe(createPlatform({}).plugins);
  });
});
