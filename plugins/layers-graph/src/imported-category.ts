import { graphPort, layersGraphPlugin } from './layers-graph';
import { CATEGORY_DEFAULTS } from './layers-graph-options';

/**
 * The lower part of an imported network: image → the split layer's feature map. The image is
 * float32 in [0, 1] at stride 1; the feature map's stride and range come from the options.
 */
export const importedCategory = layersGraphPlugin({
  family: 'imported-category',
  kind: 'category',
  description:
    'lower layers of an imported TensorFlow.js / Keras network (any layer graph, residual merges included), up to the split layer',
  defaults: CATEGORY_DEFAULTS,
  outputProblem: () => undefined,
  ports: (options, shapes) => ({
    input: graphPort('image', shapes.input, { stride: 1, values: 'unit' }),
    output: graphPort('feature-map', shapes.output, options),
  }),
});
