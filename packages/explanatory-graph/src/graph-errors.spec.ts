import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Network } from '@transplant/composer';
import { describe, expect, it } from 'vitest';
import { loadGraph } from './artifact';
import { assertGraphFits, type ExplanatoryGraph } from './graph';

const link = { category: 'cat-cls-features', task: 'cat-cls-head' };
const graph = {
  subject: { network: 'cat-cls', link, module: 'cat-cls-features', version: '1.0.0', digest: 'sha256:a' },
} as ExplanatoryGraph;
/** assertGraphFits reads only the link's category module: its name and published identity. */
const networkWith = (name: string, digest: string) =>
  ({ module: () => ({ name, published: { version: '1.0.0', digest } }) }) as unknown as Network;

describe('graph errors', () => {
  it('a graph file that cannot be read is an invalid argument, with the read error as cause', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'transplant-graph-errors-'));
    try {
      const path = join(dir, 'missing.graph');
      await expect(loadGraph(path)).rejects.toMatchObject({
        code: 'E_INVALID_ARGUMENT',
        message: expect.stringContaining(`cannot read the graph file ${path}`),
        cause: expect.objectContaining({ code: 'ENOENT' }),
      });
    } finally {
      await rm(dir, { recursive: true });
    }
  });

  it('a graph mined from another category module (other name or other weights) is E_GRAPH_MISMATCH', () => {
    expect(() => assertGraphFits(graph, networkWith('cat-cls-features', 'sha256:a'), link)).not.toThrow();
    for (const network of [
      networkWith('dog-cls-features', 'sha256:a'),
      networkWith('cat-cls-features', 'sha256:b'),
    ]) {
      expect(() => assertGraphFits(graph, network, link)).toThrow(
        expect.objectContaining({
          code: 'E_GRAPH_MISMATCH',
          message: expect.stringContaining('this graph explains cat-cls-features@1.0.0'),
        }),
      );
    }
  });
});
