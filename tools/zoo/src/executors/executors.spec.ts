import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { schemaViolations, type ExecutorSchema } from '@transplant/nx-plugin';
import { ZOO_TRAIN_DEFAULTS } from '../main';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const read = async (path: string) =>
  JSON.parse(await readFile(new URL(`../../${path}`, import.meta.url), 'utf8'));

describe('the zoo:train executor', () => {
  it('is listed in executors.json, and its schema.json matches the options type and defaults', async () => {
    const { executors } = await read('executors.json');
    expect(Object.keys(executors)).toEqual(['train']);
    const schema = (await read('src/executors/train/schema.json')) as ExecutorSchema;
    expect(schemaViolations(schema, ZOO_TRAIN_DEFAULTS as unknown as Record<string, unknown>, ROOT)).toEqual(
      [],
    );
    expect(typeof (await import('./train/executor')).default).toBe('function');
  });
});
