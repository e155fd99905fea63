import { describe, expect, it, vi } from 'vitest';
import { schemaViolations, toolExecutor, type ExecutorSchema } from './tool-executor';

const schema: ExecutorSchema = {
  properties: {
    steps: { type: 'number', description: 'Steps.', default: 300 },
    samples: { type: ['string', 'number'], description: 'Comma-separated sample counts.', default: '10,0' },
    results: { type: 'string', description: 'Results folder.', default: 'out/results', format: 'path' },
    registry: { type: 'string', description: 'A registry. Default: the embedded one.', format: 'path' },
  },
  additionalProperties: false,
};

describe('toolExecutor', () => {
  it('resolves path options against the workspace root, keeps URLs, and turns a parsed number back into text', async () => {
    const run = vi.fn(async () => undefined);
    const executor = toolExecutor(run, schema);
    expect(
      await executor({ steps: 3, samples: 100, results: 'x/r', registry: 'oci://host/ns' }, { root: '/ws' }),
    ).toEqual({ success: true });
    expect(run).toHaveBeenCalledWith({
      steps: 3,
      samples: '100',
      results: '/ws/x/r',
      registry: 'oci://host/ns',
    });
  });

  it('reports a failed workflow as success: false with its message', async () => {
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const executor = toolExecutor(async () => {
      throw new Error('no such category: unicorn');
    }, schema);
    expect(await executor({}, { root: '/ws' })).toEqual({ success: false });
    expect(err).toHaveBeenCalledWith('no such category: unicorn\n');
    err.mockRestore();
  });
});

describe('schemaViolations', () => {
  const defaults = { steps: 300, samples: '10,0', results: '/ws/out/results', registry: '/ws/registry' };

  it('is empty when the schema matches the typed defaults', () => {
    expect(schemaViolations(schema, defaults, '/ws')).toEqual([]);
  });

  it('names every disagreement', () => {
    const broken: ExecutorSchema = {
      properties: {
        steps: { type: 'string', description: 'Steps.', default: 200 },
        results: { type: 'string', description: 'Results folder.', default: 'elsewhere', format: 'path' },
        registry: { type: 'string', description: 'A registry.' },
        extra: { type: 'boolean', description: '' },
      },
    };
    expect(schemaViolations(broken, defaults, '/ws')).toEqual([
      'samples: an option the schema lacks',
      'extra: not an option of the workflow',
      'additionalProperties must be false',
      'steps: schema type string, default 300',
      'steps: schema default 200 ≠ 300',
      'results: schema default "/ws/elsewhere" ≠ "/ws/out/results"',
      'registry: has a default ("/ws/registry") the schema neither gives nor describes',
      'extra: no description',
    ]);
  });
});
