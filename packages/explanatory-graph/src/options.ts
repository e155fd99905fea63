/**
 * `@transplant/explanatory-graph/options`: the graph workflows' choices as plain values (view
 * rules, image seeds), for a command line that describes its options before loading tensor code.
 */

/**
 * How an image's view (as is, or mirrored) is chosen. `align` (the default): the mining images
 * are mirror-aligned with each other before mining (`alignViews` on the top layer's maps), and
 * a new image takes the view whose top-layer map is closer (cosine) to the mean aligned map,
 * the `template`; `fit`: the released code's rule, the view the top layer's nodes explain
 * better; `original`: never mirrored.
 */
export type GraphViewRule = 'align' | 'fit' | 'original';
export const GRAPH_VIEW_RULES: readonly GraphViewRule[] = ['align', 'fit', 'original'];

/**
 * The seeds of the object crops the graph workflows draw: the mining images, the background
 * scenes of the activation normaliser, the held-out test crops and the pool the K shots come
 * from. Every caller (CLI, experiments) uses these, so the same count draws the same images.
 */
export const GRAPH_IMAGE_SEEDS = {
  mine: 'graph-mine',
  negatives: 'graph-negatives',
  test: 'graph-test',
  shots: 'graph-shots',
} as const;
