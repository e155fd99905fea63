import { graphPort, layersGraphPlugin } from './layers-graph';
import { SEG_DEFAULTS } from './layers-graph-options';

/** The upper part of an imported segmenter: the split layer's feature map → mask logits at image size. */
export const importedSeg = layersGraphPlugin({
  family: 'imported-seg',
  kind: 'task',
  task: 'seg',
  description:
    'upper layers of an imported TensorFlow.js / Keras segmenter, from the split layer to mask logits [null, H, W, 1] at image size',
  defaults: SEG_DEFAULTS,
  outputProblem: (shape) =>
    shape.length === 4 && shape[3] === 1
      ? undefined
      : `gives [${shape.join(', ')}]; a segmentation head outputs mask logits [null, H, W, 1]`,
  ports: (options, shapes) => ({
    input: graphPort('feature-map', shapes.input, options),
    output: graphPort('mask-logits', shapes.output, { stride: 1, values: 'real' }),
  }),
});
