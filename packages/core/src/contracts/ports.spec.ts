import { describe, expect, it } from 'vitest';
import { portMismatches, type Port } from './ports';

const map: Port = {
  role: 'feature-map',
  dtype: 'float32',
  shape: [null, 8, 8, 64],
  channels: 64,
  stride: 8,
  values: 'non-negative',
};

describe('port compatibility', () => {
  it('connects equal ports and symbolic sizes', () => {
    expect(portMismatches(map, { ...map })).toEqual([]);
    expect(portMismatches(map, { ...map, shape: [null, null, null, 64] })).toEqual([]);
  });

  it('names every mismatch', () => {
    expect(
      portMismatches(map, { ...map, channels: 32, shape: [null, 16, 8, 32], stride: 4, values: 'real' }),
    ).toEqual([
      'channels 64 ≠ 32',
      'stride 8 ≠ 4',
      'values non-negative ≠ real',
      'shape[1] 8 ≠ 16',
      'shape[3] 64 ≠ 32',
    ]);
    expect(portMismatches(map, { ...map, role: 'image', dtype: 'int32', shape: [null, 64] })).toEqual([
      'role feature-map ≠ image',
      'dtype float32 ≠ int32',
      'rank 4 ≠ 2',
    ]);
  });
});
