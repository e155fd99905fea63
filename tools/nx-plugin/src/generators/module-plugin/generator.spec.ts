import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PluginRegistry } from '@transplant/composer';
import { conformanceViolations } from '@transplant/conformance';
import { selectBackend, type ModulePlugin } from '@transplant/core';
import { FolderStore, Registry } from '@transplant/registry';
import modulePluginGenerator, { MODULE_PLUGIN_KINDS, type ModulePluginGeneratorOptions } from './generator';

const ROOT = fileURLToPath(new URL('../../../../../', import.meta.url));

describe('nx g @transplant/nx-plugin:module-plugin', () => {
  let scratch: string;
  let registry: Registry;
  beforeAll(async () => {
    await selectBackend({ requested: 'cpu', env: {} });
    // Inside the repository (tmp/ is ignored by git), so that the generated sources resolve
    // @transplant/core, tfjs and class-validator from its node_modules.
    await mkdir(join(ROOT, 'tmp'), { recursive: true });
    scratch = await mkdtemp(join(ROOT, 'tmp', 'module-plugin-'));
    registry = new Registry(new FolderStore(join(scratch, 'registry')));
    // The scratch folder stands for the workspace root: the generated tsconfig.json extends this.
    await writeFile(join(scratch, 'tsconfig.base.json'), await readFile(join(ROOT, 'tsconfig.base.json')));
  });
  afterAll(async () => rm(scratch, { recursive: true, force: true }));

  it('has a schema that matches its options type', async () => {
    const schema = JSON.parse(await readFile(new URL('./schema.json', import.meta.url), 'utf8'));
    const keys: (keyof ModulePluginGeneratorOptions)[] = ['name', 'kind', 'description'];
    expect(Object.keys(schema.properties).sort()).toEqual([...keys].sort());
    expect(schema.properties.kind.enum).toEqual([...MODULE_PLUGIN_KINDS]);
    expect(schema.required).toEqual(['name', 'kind']);
    expect(schema.additionalProperties).toBe(false);
  });

  it.each(MODULE_PLUGIN_KINDS)(
    '--kind %s scaffolds a family that passes the conformance checks',
    async (kind) => {
      const tree = createTreeWithEmptyWorkspace();
      const name = `probe-${kind}`;
      await modulePluginGenerator(tree, { name, kind });
      // The empty workspace's own files (nx.json, …) are changes too: keep the generated folder's.
      const files = tree
        .listChanges()
        .map((c) => c.path)
        .filter((path) => path.startsWith(`plugins/${name}/`));
      expect(files.sort()).toEqual(
        [
          'package.json',
          'project.json',
          'tsconfig.json',
          'src/index.ts',
          `src/${name}.ts`,
          `src/${name}.spec.ts`,
        ]
          .map((f) => `plugins/${name}/${f}`)
          .sort(),
      );
      const project = JSON.parse(tree.read(`plugins/${name}/project.json`, 'utf8')!);
      expect(project).toMatchObject({ name: `plugin-${name}`, tags: ['layer:plugin'] });
      expect(JSON.parse(tree.read(`plugins/${name}/package.json`, 'utf8')!).name).toBe(
        `@transplant/plugin-${name}`,
      );

      for (const file of files) {
        const target = join(scratch, file);
        await mkdir(dirname(target), { recursive: true });
        await writeFile(target, tree.read(file)!);
      }
      const exported = (await import(
        pathToFileURL(join(scratch, `plugins/${name}/src/index.ts`)).href
      )) as Record<string, unknown>;
      const plugin = Object.values(exported).find(
        (v): v is ModulePlugin => typeof v === 'object' && v !== null && 'family' in v,
      )!;
      expect(plugin).toMatchObject({ family: name, version: '1.0.0', kind });
      const plugins = new PluginRegistry([plugin]);
      expect(await conformanceViolations({ plugins, plugin, options: undefined }, registry)).toEqual([]);
    },
  );

  it('refuses a name that is not kebab-case, an unknown kind and an existing folder', async () => {
    const tree = createTreeWithEmptyWorkspace();
    await expect(modulePluginGenerator(tree, { name: 'Adapter_X', kind: 'adapter' })).rejects.toThrow(
      /kebab-case/,
    );
    await expect(
      modulePluginGenerator(tree, {
        name: 'adapter-x',
        kind: 'loss' as ModulePluginGeneratorOptions['kind'],
      }),
    ).rejects.toThrow(/--kind must be one of category, task, adapter/);
    tree.write('plugins/adapter-x/README.md', 'taken');
    await expect(modulePluginGenerator(tree, { name: 'adapter-x', kind: 'adapter' })).rejects.toThrow(
      /exists already/,
    );
  });
});
