/**
 * `@transplant/interpretable/options`: feature visualization's defaults as plain values, for a
 * command line that describes its options before loading any tensor code.
 */

/** The defaults of `visualizeUnits` (docs/visualize.md). */
export const VISUALIZE_DEFAULTS = {
  steps: 256,
  learningRate: 0.1,
  batch: 16,
  scale: 0.1,
  rotate: 10,
  tv: 0.005,
  decay: 1,
  init: 0.5,
} as const;
