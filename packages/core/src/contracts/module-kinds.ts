/**
 * The three kinds of module a network is built from (DESIGN.md §3), and the network: a
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

/** The tasks a task module can solve. */
export const TASKS = {
  cls: { description: 'classification: category vs. rest, or multi-class', output: 'logits' },
  seg: { description: 'segmentation: a per-pixel object mask at image size', output: 'mask-logits' },
} as const;

export type TaskId = keyof typeof TASKS;
export const TASK_IDS = Object.keys(TASKS) as TaskId[];
