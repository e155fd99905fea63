import { describe, expect, it } from 'vitest';
import { devChoice, formatZooEvaluation, type VersionScore } from './zoo-evaluation';

const score = (network: string, version: string, metric: string, mean: number): VersionScore => ({
  network,
  version,
  split: 'dev',
  metric,
  value: { mean, low: mean - 0.01, high: mean + 0.01 },
  images: 400,
});

describe('the zoo evaluation', () => {
  it('keeps the version with the best dev score: the lowest error, the highest IoU; a tie goes to the later version', () => {
    const dev = [
      score('dog-cls', '1.0.0', 'error-rate', 0.09),
      score('dog-cls', '1.1.0', 'error-rate', 0.03),
      score('dog-cls', '1.2.0', 'error-rate', 0.05),
      score('cat-seg', '1.0.0', 'iou', 0.78),
      score('cat-seg', '1.1.0', 'iou', 0.72),
      score('cow-cls', '1.0.0', 'error-rate', 0.02),
      score('cow-cls', '1.1.0', 'error-rate', 0.02),
    ];
    expect(devChoice(dev, 'dog-cls')?.version).toBe('1.1.0');
    expect(devChoice(dev, 'cat-seg')?.version).toBe('1.0.0');
    expect(devChoice(dev, 'cow-cls')?.version).toBe('1.1.0');
    expect(devChoice(dev, 'bird-cls')).toBeUndefined();
    const text = formatZooEvaluation({ backend: 'cpu', machine: 'm', dev, final: [] });
    expect(text).toContain('| dog-cls | 1.1.0 | 3.00 % [2.00, 4.00] | **yes** |');
    expect(text).toContain('| cat-seg | 1.0.0 | 0.780 [0.770, 0.790] | **yes** |');
    expect(text).not.toContain('Final test');
  });
});
