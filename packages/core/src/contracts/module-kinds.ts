/**
 * The three kinds of module a network is built from (docs/design.md §3), and the network: a
 * published composition of them (a specific network, or a generic one).
 */
export const MODULE_KINDS = {
  category: {
    description: 'lower conv layers trained on one object category (f_c)',
    inputRole: 'image',
    outputRole: 'feature-map',
  },
  task: {
    description: 'upper layers solving one task, shared by all categories (g_t)',
    inputRole: 'feature-map',
    outputRole: 'task-output',
  },
  adapter: {
    description:
      "a small conv net (h) mapping one category module's features into one task module's input space",
    inputRole: 'feature-map',
    outputRole: 'feature-map',
  },
  network: {
    description:
      'a composition: category modules, task modules and adapters on enabled links, each pinned by digest (no weights of its own)',
    inputRole: 'image',
    outputRole: 'task-output',
  },
} as const;

export type ModuleKind = keyof typeof MODULE_KINDS;
export const MODULE_KIND_IDS = Object.keys(MODULE_KINDS) as ModuleKind[];

const TASK_ID_LIST = ['cls', 'seg'] as const;

/** The tasks a task module can solve. */
export type TaskId = (typeof TASK_ID_LIST)[number];
export const TASK_IDS: TaskId[] = [...TASK_ID_LIST];

/**
 * What differs between tasks, in one place: code asks `TASKS[task]` instead of testing the
 * task id, so a new task must state each of these (the `satisfies` below does not compile
 * without an entry for every id) instead of silently taking another task's branch.
 */
/** Bridges from a teacher's task to a student's: seg → cls scores presence from the mask logits. */
export type TaskBridge = 'seg-to-cls';

export interface TaskBehaviour {
  readonly description: string;
  /** What the task module outputs: one logit per image (or class), or mask logits at image size. */
  readonly output: 'logits' | 'mask-logits';
  /** How a data batch of one category is labelled: 1/0 per image, or the category's mask (empty on negatives). */
  readonly batchMode: 'binary' | 'segmentation';
  /** The batch tensor a task module is trained against. */
  readonly target: 'labels' | 'masks';
  /** The shape of `count` targets for images of `size` × `size`. */
  readonly targetShape: (count: number, size: number) => number[];
  /** The held-out metric (thresholding logits at 0): error rate (lower is better) or IoU (higher is better). */
  readonly metric: 'error-rate' | 'iou';
  /** The items the metric is measured on: positives and negatives, or the category's own images only. */
  readonly metricOn: 'all' | 'positives';
  /** A distillation probe of the output: all ones (one logit), or a chosen probe kind for mask logits. */
  readonly probe: 'ones' | 'mask';
  /** The student tasks a teacher of this task can teach through a bridge, and the bridge. */
  readonly bridges: Partial<Record<TaskId, TaskBridge>>;
}

export const TASKS = {
  cls: {
    description: 'classification: category vs. rest, or multi-class',
    output: 'logits',
    batchMode: 'binary',
    target: 'labels',
    targetShape: (count: number, _size: number) => [count],
    metric: 'error-rate',
    metricOn: 'all',
    probe: 'ones',
    bridges: {},
  },
  seg: {
    description: 'segmentation: a per-pixel object mask at image size',
    output: 'mask-logits',
    batchMode: 'segmentation',
    target: 'masks',
    targetShape: (count: number, size: number) => [count, size, size, 1],
    metric: 'iou',
    metricOn: 'positives',
    probe: 'mask',
    bridges: { cls: 'seg-to-cls' },
  },
} as const satisfies Record<TaskId, TaskBehaviour>;
