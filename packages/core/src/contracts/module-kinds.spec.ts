import { describe, expect, it } from 'vitest';
import { TASKS, TASK_IDS, type TaskBehaviour, type TaskId } from './module-kinds';

const FIELDS: (keyof TaskBehaviour)[] = [
  'description',
  'output',
  'batchMode',
  'target',
  'targetShape',
  'metric',
  'metricOn',
  'probe',
  'bridges',
];

describe('TASKS', () => {
  it('has exactly one entry per task id, each stating every behaviour', () => {
    expect(Object.keys(TASKS).sort()).toEqual([...TASK_IDS].sort());
    for (const id of TASK_IDS) {
      const entry: Record<string, unknown> = TASKS[id];
      for (const field of FIELDS) expect(entry[field], `${id}.${field}`).toBeDefined();
      // The fields agree with each other: labels are one per image, masks one per pixel.
      const shape = TASKS[id].targetShape(3, 8);
      expect(shape, `${id}.targetShape`).toEqual(TASKS[id].target === 'labels' ? [3] : [3, 8, 8, 1]);
      expect(TASKS[id].output === 'logits', `${id}.output`).toBe(TASKS[id].target === 'labels');
      for (const student of Object.keys(TASKS[id].bridges)) expect(TASK_IDS).toContain(student);
    }
  });

  it('a table missing a task does not compile', () => {
    // @ts-expect-error -- seg is missing: `satisfies Record<TaskId, TaskBehaviour>` rejects it.
    const partial = { cls: TASKS.cls } satisfies Record<TaskId, TaskBehaviour>;
    expect(Object.keys(partial)).toEqual(['cls']);
  });

  it('target shapes match the batch tensors the targets come from', () => {
    expect(TASKS.cls.targetShape(4, 32)).toEqual([4]);
    expect(TASKS.seg.targetShape(4, 32)).toEqual([4, 32, 32, 1]);
  });

  it('bridges only name task ids', () => {
    for (const id of TASK_IDS)
      for (const to of Object.keys(TASKS[id].bridges)) expect(TASK_IDS).toContain(to);
  });
});
