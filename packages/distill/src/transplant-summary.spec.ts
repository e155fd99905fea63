import { describe, expect, it } from 'vitest';
import { transplantProgressLine } from './transplant-summary';

describe('transplantProgressLine', () => {
  it('speaks every 25 steps and at the last step, with the seconds left at the pace so far', () => {
    expect(transplantProgressLine(24, 60, 0.5, 1000)).toBeUndefined();
    // 25 steps in 5 s: 0.2 s a step, 35 steps left → 7 s.
    expect(transplantProgressLine(25, 60, 0.123456, 5000)).toBe('step 25/60  loss 0.1235  ETA 7 s\n');
    expect(transplantProgressLine(60, 60, 0.1, 12000)).toBe('step 60/60  loss 0.1000  ETA 0 s\n');
  });
});
