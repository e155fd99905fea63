import { describe, expect, it } from 'vitest';
import { PLANS, RECIPES, planFor } from './zoo-spec';

describe('planFor', () => {
  it('takes the task plan and the recipe decays', () => {
    const plan = planFor('seg', '1.1.0');
    expect(plan).toEqual({ ...PLANS.seg, laterDecays: RECIPES['1.1.0'].laterDecays });
    expect(planFor('cls', '1.0.0').laterDecays).toEqual([]);
  });

  it("lets a recipe's own step cap replace the task's", () => {
    expect(planFor('cls', '1.1.0').maxSteps).toBe(PLANS.cls.maxSteps);
    expect(planFor('cls', '1.2.0').maxSteps).toBe(RECIPES['1.2.0'].maxSteps);
    expect(RECIPES['1.2.0'].maxSteps).not.toBe(PLANS.cls.maxSteps);
  });

  it('scales every step count, keeping at least one step', () => {
    const plan = planFor('cls', '1.2.0', 0.5);
    expect([plan.steps, plan.maxSteps, plan.checkEvery]).toEqual([
      PLANS.cls.steps / 2,
      RECIPES['1.2.0'].maxSteps / 2,
      PLANS.cls.checkEvery / 2,
    ]);
    const tiny = planFor('cls', '1.0.0', 1e-6);
    expect([tiny.steps, tiny.maxSteps, tiny.checkEvery]).toEqual([1, 1, 1]);
    expect(tiny.batchSize).toBe(PLANS.cls.batchSize);
  });
});
