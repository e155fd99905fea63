import { ContainerModule } from 'inversify';
import { describe, expect, it } from 'vitest';
import { COMPOSER_TOKENS, type PluginRegistry } from '@transplant/composer';
import { isTransplantError, type ModulePlugin } from '@transplant/core';
import { createPlatformContainer } from '@transplant/platform';
import { importedCls } from '@transplant/plugin-layers-graph';
import {
  MemoryStore,
  REGISTRY_TOKENS,
  Registry,
  memoryStoreFactory,
  moduleFixture,
  type RegistryOpener,
  type RegistryStoreFactory,
} from '@transplant/registry';
import { runCli } from './program';

async function run(argv: string[], modules: ContainerModule[] = []) {
  let stdout = '';
  let stderr = '';
  const io = { stdout: (t: string) => (stdout += t), stderr: (t: string) => (stderr += t), env: {} };
  const code = await runCli(argv, io, { modules });
  return { code, stdout, stderr };
}

const names = (stdout: string) => (JSON.parse(stdout) as { name: string }[]).map((m) => m.name);

describe('the CLI composition root: contributions and rebindings reach the commands', () => {
  it('opens a mem:// registry through an added store contribution, and refuses it without one', async () => {
    const factory = memoryStoreFactory();
    await new Registry(await factory.open('mem://zoo', {})).publish(
      moduleFixture({ name: 'mem-cat', version: '1.0.0' }),
    );
    const withMemory = new ContainerModule(({ bind }) => {
      bind<RegistryStoreFactory>(REGISTRY_TOKENS.StoreFactory).toConstantValue(factory);
    });
    const listed = await run(['--registry', 'mem://zoo', '--json', 'registry', 'list'], [withMemory]);
    expect(listed.stderr).toBe('');
    expect(names(listed.stdout)).toEqual(['mem-cat']);

    const refused = await run(['--registry', 'mem://zoo', '--json', 'registry', 'list']);
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stderr).error.code).toBe('E_REGISTRY_UNREACHABLE');
  });

  it('uses a rebound registry opener for the default location', async () => {
    const store = new MemoryStore('mem://rebound');
    await new Registry(store).publish(moduleFixture({ name: 'rebound-cat', version: '2.0.0' }));
    const opened: string[] = [];
    const rebound = new ContainerModule(({ rebindSync }) => {
      rebindSync<RegistryOpener>(REGISTRY_TOKENS.RegistryOpener).toConstantValue(async (location) => {
        opened.push(location);
        return new Registry(store);
      });
    });
    const listed = await run(['--json', 'registry', 'list'], [rebound]);
    expect(names(listed.stdout)).toEqual(['rebound-cat']);
    expect(opened).toHaveLength(1);
  });

  it('lists an extra module plugin contribution in `transplant plugins`', async () => {
    const extra: ModulePlugin = {
      ...importedCls,
      family: 'test-extra',
      description: 'contributed by a test',
    };
    const withExtra = new ContainerModule(({ bind }) => {
      bind<ModulePlugin>(COMPOSER_TOKENS.ModulePlugin).toConstantValue(extra);
    });
    const families = async (modules: ContainerModule[]) =>
      (JSON.parse((await run(['--json', 'plugins'], modules)).stdout) as { family: string }[]).map(
        (p) => p.family,
      );
    const builtin = await families([]);
    expect(builtin).toContain('category-vgg');
    expect(builtin).not.toContain('test-extra');
    expect(await families([withExtra])).toEqual([...builtin, 'test-extra']);
  });

  it('refuses a plugin family contributed twice with E_PLUGIN_DUPLICATE', async () => {
    const twice = new ContainerModule(({ bind }) => {
      bind<ModulePlugin>(COMPOSER_TOKENS.ModulePlugin).toConstantValue(importedCls);
    });
    const container = createPlatformContainer({ env: {}, modules: [twice] });
    let error: unknown;
    try {
      container.get<PluginRegistry>(COMPOSER_TOKENS.PluginRegistry);
    } catch (caught) {
      error = caught;
    }
    expect(isTransplantError(error, 'E_PLUGIN_DUPLICATE')).toBe(true);
    const r = await run(['--json', 'plugins'], [twice]);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stderr).error.code).toBe('E_PLUGIN_DUPLICATE');
  });
});
