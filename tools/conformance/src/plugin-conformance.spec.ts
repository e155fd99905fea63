import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testPlugins } from '@transplant/platform/testing';
import { selectBackend } from '@transplant/core';
import { FolderStore, Registry } from '@transplant/registry';
import { buildViolations, optionsViolations, roundTripViolations, seedViolations } from './conformance';
import { PLUGIN_CASES } from './plugin-cases';

/**
 * Generated over every plugin the CLI registers, with its defaults and the option sets of
 * PLUGIN_CASES: ports agree with the built layers, publish → fetch → rebuild is bit-identical,
 * outputs are deterministic for a seed, and no tensor leaks (the checks are in conformance.ts,
 * which the module-plugin generator's test runs on a freshly generated plugin too).
 */
const plugins = testPlugins();
const cases = plugins.list().flatMap((plugin) =>
  [undefined, ...(PLUGIN_CASES[plugin.family] ?? [])].map((options, i) => ({
    plugins,
    plugin,
    options,
    label: `${plugin.family} ${i === 0 ? 'defaults' : `case ${i}`}`,
  })),
);

describe('module plugin conformance', () => {
  let root: string;
  let registry: Registry;
  beforeAll(async () => {
    await selectBackend({ requested: 'cpu', env: {} });
    root = await mkdtemp(join(tmpdir(), 'transplant-conformance-'));
    registry = new Registry(new FolderStore(root));
  });
  afterAll(async () => rm(root, { recursive: true, force: true }));

  it('covers every registered plugin, and every case names a registered family', () => {
    expect(
      plugins
        .list()
        .map((p) => p.family)
        .sort(),
    ).toEqual(expect.arrayContaining(['adapter-conv', 'category-vgg', 'task-cls', 'task-seg']));
    for (const family of Object.keys(PLUGIN_CASES)) expect(() => plugins.get(family)).not.toThrow();
  });

  describe.each(cases)('$label', (c) => {
    it('declares its options: defaults parse, unknown and ill-typed options are refused with E_OPTIONS_INVALID', () => {
      expect(optionsViolations(c)).toEqual([]);
    });

    it('builds layers whose shapes are its ports, and frees every tensor', () => {
      expect(buildViolations(c)).toEqual([]);
    });

    it('gives the same outputs for the same seed', () => {
      expect(seedViolations(c)).toEqual([]);
    });

    it('survives serialize → publish → fetch → rebuild bit-identically', async () => {
      expect(await roundTripViolations(c, registry)).toEqual([]);
    });
  });
});
