import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { schemaViolations, type ExecutorSchema } from '@transplant/nx-plugin';
import { BD_BENCH_DEFAULTS } from '../bd-bench';
import { DATA_DIFFICULTY_DEFAULTS } from '../data-difficulty';
import { GENERIC_GROWTH_DEFAULTS } from '../generic-growth';
import { GRAPH_BENCH_DEFAULTS } from '../graph-bench';
import { BENCH_DEFAULTS } from '../main';
import { REGISTRY_BENCH_DEFAULTS } from '../registry-bench';
import { RENDER_BENCH_DEFAULTS } from '../render-bench';
import { SOAK_DEFAULTS } from '../soak';
import { STARTUP_BENCH_DEFAULTS } from '../startup-bench';
import { VISUALIZE_BENCH_DEFAULTS } from '../visualize-bench';
import renderExecutor from './render/executor';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const DEFAULTS: Record<string, object> = {
  bench: BENCH_DEFAULTS,
  render: RENDER_BENCH_DEFAULTS,
  registry: REGISTRY_BENCH_DEFAULTS,
  bd: BD_BENCH_DEFAULTS,
  'data-difficulty': DATA_DIFFICULTY_DEFAULTS,
  'generic-growth': GENERIC_GROWTH_DEFAULTS,
  graph: GRAPH_BENCH_DEFAULTS,
  soak: SOAK_DEFAULTS,
  startup: STARTUP_BENCH_DEFAULTS,
  visualize: VISUALIZE_BENCH_DEFAULTS,
};
const read = async (path: string) =>
  JSON.parse(await readFile(new URL(`../../${path}`, import.meta.url), 'utf8'));

describe('the bench executors', () => {
  it('are each listed in executors.json with a schema and an implementation', async () => {
    const { executors } = await read('executors.json');
    expect(Object.keys(executors).sort()).toEqual(Object.keys(DEFAULTS).sort());
    for (const name of Object.keys(executors))
      expect(typeof ((await import(`./${name}/executor.ts`)) as { default: unknown }).default).toBe(
        'function',
      );
  });

  it.each(Object.entries(DEFAULTS))(
    '%s: schema.json matches the options type and defaults',
    async (name, defaults) => {
      const schema = (await read(`src/executors/${name}/schema.json`)) as ExecutorSchema;
      expect(schemaViolations(schema, defaults as Record<string, unknown>, ROOT)).toEqual([]);
    },
  );

  it('bench:render runs in-process with the options nx passes and reports success', async () => {
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      expect(await renderExecutor({ n: 60, size: 32, write: false }, { root: ROOT })).toEqual({
        success: true,
      });
      expect(out.mock.calls.map((c) => String(c[0])).join('')).toMatch(/rendered 60 32×32 images/);
    } finally {
      out.mockRestore();
    }
  });
});
