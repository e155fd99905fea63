/** `transplant import`: any TensorFlow.js LayersModel split into a category and a task module. */
export { parseTopology, type KerasLayerConfig, type LayersModelGraph } from './keras-topology';
export { splitLayersModel, splitPoints, type GraphPart, type SplitGraph } from './split-layers-model';
export {
  decodeWeightsManifest,
  localWeightNames,
  readModelFiles,
  type LayersModelFiles,
  type NamedArray,
} from './model-weights';
export { featureStride, featureValues } from './feature-port';
export {
  IMPORTED_FAMILIES,
  importLayersModel,
  type ImportLayersModelOptions,
  type ImportedModules,
} from './import-layers-model';
export { checkImages, compareWithOriginal, differenceToReference } from './check-import';
export {
  GRAPH_FAMILIES,
  graphSplitPoints,
  importGraphModel,
  isGraphModelJson,
  loadOriginalGraph,
  parseGraphModel,
  planGraphImport,
  type GraphImportPlan,
  type ImportGraphModelOptions,
  type TfGraphModel,
} from './import-graph-model';
export { readJsModuleLiteral } from './js-module-literal';
export { residualFixture, segFixture, sequentialFixture, writeModelFiles } from './testing/fixture-models';
export {
  IMPORT_CHECK_TOLERANCE,
  formatImport,
  importModel,
  type ImportModelOptions,
  type ImportModelReport,
} from './import-model';
export { graphFixture, writeGraphFixture } from './testing/graph-fixture';
