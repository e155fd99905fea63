import { describe, expect, it } from 'vitest';
import { TransplantError } from '../errors';
import { manifestFixture } from './fixtures';
import { validateManifest, type Violation } from './validate-manifest';

function violations(input: unknown): Violation[] {
  try {
    validateManifest(input);
  } catch (error) {
    expect(error).toBeInstanceOf(TransplantError);
    expect((error as TransplantError).code).toBe('E_MANIFEST_INVALID');
    return (error as TransplantError).details as Violation[];
  }
  return [];
}

const paths = (input: unknown) => [...new Set(violations(input).map((v) => v.path))].sort();

describe('validateManifest', () => {
  it.each(['category', 'task', 'adapter'] as const)('accepts a valid %s manifest', (kind) => {
    const manifest = validateManifest(manifestFixture(kind));
    expect(manifest.kind).toBe(kind);
    expect(manifest.name).toBe(`cat-${kind}`);
  });

  it('refuses unknown fields at any depth, naming their paths', () => {
    const m = manifestFixture('category');
    m['colour'] = 'blue';
    (m['weights'] as Record<string, unknown>)['sha1'] = 'x';
    (m['ports'] as { input: Record<string, unknown> }).input['layout'] = 'NCHW';
    expect(paths(m)).toEqual(['colour', 'ports.input.layout', 'weights.sha1']);
  });

  it('reports every violation, not only the first', () => {
    const m = manifestFixture('task');
    m['version'] = '1.0';
    m['name'] = 'Cat_Task';
    (m['weights'] as Record<string, unknown>)['digest'] = 'md5:abc';
    (m['card'] as { metrics: Record<string, unknown>[] }).metrics[0]!['value'] = Number.NaN;
    m['kind'] = 'head';
    expect(paths(m)).toEqual(['card.metrics[0].value', 'kind', 'name', 'version', 'weights.digest']);
  });

  it('refuses path-like and oversized names', () => {
    for (const name of ['../etc', 'a/b', 'cat@1', 'CAT', '-cat', 'cat-', 'cat--cls', 'c'.repeat(65), 'x']) {
      expect(paths({ ...manifestFixture('category'), name })).toEqual(['name']);
    }
  });

  it('requires an adapter to pin exactly one category and one task module', () => {
    const m = manifestFixture('adapter');
    const deps = m['dependencies'] as Record<string, unknown>[];
    delete deps[1]!['pinned'];
    expect(violations(m)).toEqual([
      { path: 'dependencies[1].pinned', message: expect.stringContaining('pins the exact task') },
    ]);
    m['dependencies'] = [deps[0]];
    expect(paths(m)).toEqual(['dependencies']);
  });

  it('checks that ports fit the kind and agree with their shape', () => {
    const m = manifestFixture('category');
    const ports = m['ports'] as { input: Record<string, unknown>; output: Record<string, unknown> };
    ports.input['role'] = 'feature-map';
    ports.output['channels'] = 32;
    expect(paths(m)).toEqual(['ports.input.role', 'ports.output.channels']);
  });

  it('requires the task of a task module and the category of a category module', () => {
    const task = manifestFixture('task');
    delete task['task'];
    expect(paths(task)).toEqual(['task']);
    const category = manifestFixture('category');
    delete category['category'];
    expect(paths(category)).toEqual(['category']);
  });

  it('refuses what is not an object', () => {
    for (const input of [null, 3, 'manifest', [manifestFixture('task')]]) expect(paths(input)).toEqual(['']);
  });

  it('refuses hostile manifests with a code before walking them (issue 24)', () => {
    const m = manifestFixture('category');
    const deep = JSON.parse(`${'['.repeat(100_000)}${']'.repeat(100_000)}`) as unknown;
    expect(violations({ ...m, options: { deep } })[0]?.message).toMatch(/nested more than 32 deep/);
    expect(violations({ ...m, dependencies: new Array(1_000_000).fill({}) })[0]?.message).toMatch(
      /more than 100000 values/,
    );
    expect(violations(JSON.parse('{"ports": {"__proto__": {"input": {}}}}'))[0]?.message).toMatch(
      /__proto__/,
    );
  });

  it('refuses a port declaring more than 2³¹ − 1 elements, and a missing port', () => {
    const m = manifestFixture('category');
    const ports = m['ports'] as { input: Record<string, unknown>; output: unknown };
    ports.input['shape'] = [null, 2 ** 31, 2 ** 31, 3];
    expect(paths(m)).toEqual(['ports.input.shape']);
    const n = manifestFixture('task');
    delete (n['ports'] as Record<string, unknown>)['output'];
    expect(paths(n)).toEqual(['ports.output']);
  });
});
