import { graphPort, layersGraphPlugin } from './layers-graph';
import { CLS_DEFAULTS } from './layers-graph-options';

/** The upper part of an imported classifier: the split layer's feature map → K logits. */
export const importedCls = layersGraphPlugin({
  family: 'imported-cls',
  kind: 'task',
  task: 'cls',
  description:
    'upper layers of an imported TensorFlow.js / Keras classifier, from the split layer to the logits [null, K]',
  defaults: CLS_DEFAULTS,
  outputProblem: (shape) =>
    shape.length === 2
      ? undefined
      : `gives [${shape.join(', ')}]; a classification head outputs logits [null, K]`,
  ports: (options, shapes) => ({
    input: graphPort('feature-map', shapes.input, options),
    output: graphPort('logits', shapes.output, { stride: 0, values: 'real' }),
  }),
});
