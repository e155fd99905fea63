import { describe, expect, it } from 'vitest';
import { parsePluginOptions } from '@transplant/core';
import { graphCategory } from './tf-graph';

/** Options of the graph families refuse what would break a module after it was built. */
describe('graph module options', () => {
  const base = {
    inputShape: [4, 4, 3],
    outputShape: [4, 4, 3],
    input: 'images',
    output: 'a/b',
    statics: {},
    stride: 1,
    values: 'real',
  };
  const refusal = (options: object) => {
    try {
      parsePluginOptions(graphCategory, { ...base, ...options });
    } catch (error) {
      return (error as Error).message;
    }
    return 'accepted';
  };

  it('accepts a sound graph', () => {
    expect(
      refusal({
        nodes: [{ name: 'a/b', op: 'Mul', inputs: ['images', 'k'], attr: {} }],
        weights: [{ name: 'k', shape: [3] }],
      }),
    ).toBe('accepted');
  });

  it('refuses stored weight names that would collide (node a reading b/c, node a/b reading c)', () => {
    expect(
      refusal({
        nodes: [
          { name: 'a', op: 'Mul', inputs: ['images', 'b/c'], attr: {} },
          { name: 'a/b', op: 'Mul', inputs: ['a', 'c'], attr: {} },
        ],
        weights: [
          { name: 'b/c', shape: [3] },
          { name: 'c', shape: [3] },
        ],
      }),
    ).toContain('a/b/c would collide');
  });

  it('refuses a node named like the module input layer, nodes reading only constants, and absurd weights', () => {
    expect(
      refusal({
        output: 'input',
        nodes: [{ name: 'input', op: 'Relu', inputs: ['images'], attr: {} }],
        weights: [],
      }),
    ).toContain('named "input"');
    expect(
      refusal({
        nodes: [{ name: 'a/b', op: 'Mul', inputs: ['k', 'k'], attr: {} }],
        weights: [{ name: 'k', shape: [3] }],
      }),
    ).toContain('reads only constants');
    expect(
      refusal({
        nodes: [{ name: 'a/b', op: 'Mul', inputs: ['images', 'k'], attr: {} }],
        weights: [{ name: 'k', shape: [65536, 65536] }],
      }),
    ).toContain('more than the 268435456 allowed');
  });
});
