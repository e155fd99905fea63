import { describe, expect, it } from 'vitest';
import { layerHint } from './layer-probe';

describe('layerHint', () => {
  const names = Array.from({ length: 300 }, (_, i) => `block_${i}/conv`).concat(['out_relu']);

  it('lists a short list whole', () => {
    expect(layerHint(['c1', 'c2'], 'x')).toBe('c1, c2');
  });

  it('cuts a long list to a few names and says how many were left out', () => {
    const hint = layerHint(names, 'nothing-like-it');
    expect(hint.split(', ')).toHaveLength(13);
    expect(hint).toMatch(/^block_0\/conv, block_1\/conv, .*, … and 289 more$/);
  });

  it('prefers the names that contain what was asked for', () => {
    expect(layerHint(names, 'RELU')).toBe('(of 301, those matching "RELU") out_relu');
    expect(layerHint(names, 'block_29')).toMatch(
      /^\(of 301, those matching "block_29"\) block_29\/conv, block_290\/conv, /,
    );
  });
});
