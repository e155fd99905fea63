/**
 * Option sets the conformance suite builds for each plugin family, beside its defaults:
 * small, so that the suite stays fast, and covering each family's branches. A family
 * without an entry here is still tested with its defaults.
 */
export const PLUGIN_CASES: Readonly<Record<string, readonly Record<string, unknown>[]>> = {
  'category-vgg': [
    { inputSize: 16, blocks: [[4], [6, 6]], kernelSize: 5 },
    { inputSize: 16, blocks: [[4], [6]], batchNorm: true },
    { inputSize: 16, blocks: [[4], [6, 6]], mask: 'argmax' },
    { inputSize: 16, blocks: [[4], [6]], batchNorm: true, mask: 'centroid' },
  ],
  'task-cls': [
    { inputSize: 4, inputChannels: 6, inputStride: 4, convs: [], hidden: 8, classes: 3 },
    { inputSize: 1, inputChannels: 5, inputStride: 16, convs: [4], hidden: 4, classes: 1 },
  ],
  'task-seg': [
    { inputSize: 4, inputChannels: 6, inputStride: 4, widths: [8, 4, 4] },
    { inputSize: 4, inputChannels: 6, inputStride: 4, widths: [8] },
  ],
  'adapter-conv': [
    { size: 4, channels: 6, stride: 4, layers: 3 },
    { size: 4, channels: 6, stride: 4, outChannels: 5, layers: 1 },
    { size: 4, channels: 6, stride: 4, layers: 1, init: 'he-normal' },
  ],
};
