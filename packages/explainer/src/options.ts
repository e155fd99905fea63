/**
 * `@transplant/explainer/options`: the explain command's defaults as plain values, for a command
 * line that describes its options before loading any tensor code.
 */

/** The `explain` command's defaults (the explainer experiment sets its own on the command line). */
export const EXPLAIN_COMMAND_DEFAULTS = {
  steps: 1500,
  eta: 0,
  decision: 1,
  filters: 32,
  pool: 1000,
  images: 200,
  test: 200,
  seed: 1,
} as const;
