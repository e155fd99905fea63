import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { GRAPH_VIEW_RULES } from '@transplant/explanatory-graph';
import { PART_MASK_MODES } from '@transplant/interpretable';
import { schemaViolations, type ExecutorSchema } from '@transplant/nx-plugin';
import { AOG_EXPERIMENT_DEFAULTS } from '../aog';
import { EXPLAINER_DEFAULTS } from '../explainer';
import { EXPLANATORY_GRAPH_DEFAULTS } from '../explanatory-graph';
import { INTERPRETABLE_EXPERIMENT_DEFAULTS } from '../interpretable';
import { INTERPRETABLE_SWEEP_DEFAULTS } from '../interpretable-sweep';
import { PAPER_TABLE_DEFAULTS } from '../paper-table';
import { REAL_TRANSPLANT_DEFAULTS, REAL_TRANSPLANT_HEADS } from '../real-transplant';
import { ZOO_EVALUATION_DEFAULTS } from '../zoo-evaluation';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const DEFAULTS: Record<string, object> = {
  'paper-table': PAPER_TABLE_DEFAULTS,
  explainer: EXPLAINER_DEFAULTS,
  'explanatory-graph': EXPLANATORY_GRAPH_DEFAULTS,
  aog: AOG_EXPERIMENT_DEFAULTS,
  interpretable: INTERPRETABLE_EXPERIMENT_DEFAULTS,
  'interpretable-sweep': INTERPRETABLE_SWEEP_DEFAULTS,
  'zoo-evaluation': ZOO_EVALUATION_DEFAULTS,
  'real-transplant': REAL_TRANSPLANT_DEFAULTS,
};
const read = async (path: string) =>
  JSON.parse(await readFile(new URL(`../../${path}`, import.meta.url), 'utf8')) as Record<string, unknown>;
const schemaOf = async (name: string) =>
  (await read(`src/executors/${name}/schema.json`)) as unknown as ExecutorSchema;

describe('the experiments executors', () => {
  it('are each listed in executors.json with a schema and an implementation', async () => {
    const { executors } = (await read('executors.json')) as { executors: Record<string, { schema: string }> };
    expect(Object.keys(executors).sort()).toEqual(Object.keys(DEFAULTS).sort());
    for (const [name, entry] of Object.entries(executors)) {
      expect(entry.schema).toBe(`./src/executors/${name}/schema.json`);
      const executor = (await import(`./${name}/executor.ts`)) as { default: unknown };
      expect(typeof executor.default).toBe('function');
    }
  });

  it.each(Object.entries(DEFAULTS))(
    '%s: schema.json matches the options type and defaults',
    async (name, defaults) => {
      expect(schemaViolations(await schemaOf(name), defaults as Record<string, unknown>, ROOT)).toEqual([]);
    },
  );

  it('offer the enums the libraries accept', async () => {
    expect((await schemaOf('explanatory-graph')).properties['views']!.enum).toEqual([...GRAPH_VIEW_RULES]);
    expect((await schemaOf('interpretable')).properties['mask']!.enum).toEqual([...PART_MASK_MODES]);
    expect((await schemaOf('real-transplant')).properties['head']!.enum).toEqual([...REAL_TRANSPLANT_HEADS]);
  });
});
