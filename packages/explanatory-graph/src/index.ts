/**
 * @transplant/explanatory-graph — explanatory graphs (docs/methods.md §3): part patterns mined
 * without labels from a frozen network's conv layers (several nodes per filter, parents in the
 * layer above with learned displacements, EM top-down), their inference on new images, few-shot
 * part localization against raw-filter and pooled-feature baselines, node vs filter location
 * instability, node patches and an HTML browser; graphs saved as versioned, digest-checked files.
 */
export {
  ACC_WIDTH,
  LayerEStep,
  emptyRecords,
  flatPrior,
  initLayer,
  layerParams,
  nodeCount,
  type EStepInput,
  type EvidenceMaps,
  type GraphLayerState,
  type InitLayerOptions,
  type LayerGeometry,
  type LayerParams,
  type Prior,
  type Records,
} from './em';
export {
  alignViews,
  betterView,
  imageFramePositions,
  inferLayers,
  mineLayers,
  type LayerEvidence,
  type MinedLayers,
  type MiningOptions,
  type MiningProgress,
  type ViewRule,
} from './mine';
export {
  GRAPH_FORMAT,
  assertGraphFits,
  defaultGraphLayers,
  evidenceMaps,
  graphSize,
  inferGraph,
  mineGraph,
  negativeStd,
  readLayerMaps,
  type ExplanatoryGraph,
  type GraphInference,
  type GraphLayer,
  type GraphSubject,
  type InferGraphOptions,
  type InferredImages,
  type Link,
  type LinkedNetwork,
  type MineGraphInput,
  type MineGraphOptions,
} from './graph';
export { GRAPH_FORMAT_VERSION, decodeGraph, encodeGraph, loadGraph, saveGraph } from './artifact';
export {
  filterObservations,
  fitFeatureRegressor,
  fitUnitLocator,
  locateWithUnits,
  normalizedDistance,
  pooledFeatures,
  predictWithFeatures,
  standardise,
  type FeatureRegressor,
  type FitFeatureRegressorOptions,
  type FitUnitLocatorOptions,
  type Point,
  type ShotTargets,
  type UnitLocator,
  type UnitObservations,
} from './localize';
export {
  LOCALIZATION_METHODS,
  RIDGE_METHODS,
  drawWithoutReplacement,
  fewShotLocalization,
  graphObservations,
  kShotPredictions,
  graphVsFilterStability,
  rawFilterObservations,
  unitStability,
  type FewShotInput,
  type FewShotOptions,
  type GraphVsFilterStabilityOptions,
  type KShotPredictionsOptions,
  type FewShotResult,
  type LocalizationMethod,
  type MapView,
  type RidgeMethod,
  type UnitStability,
  type UnitStabilityOptions,
} from './evaluate';
export {
  nodePosition,
  renderLocalizedParts,
  renderNodePatches,
  topImages,
  type LocalizedPartsPicture,
  type NodeRef,
  type PatchOptions,
} from './pictures';
export { nodeStrength, writeGraphBrowser, type BrowserOptions } from './browser';
export { referenceEStep, type ReferenceNodeResult } from './reference';
export { partCentres } from '@transplant/interpretable';
export { imagesOf, type ImageSource } from './graph-images';
export * from './options';
export { GRAPH_ATTACHMENT, loadGraphFor, type GraphSourceOptions } from './graph-source';
export {
  mineCategoryGraph,
  type MineCategoryGraphOptions,
  type MinedCategoryGraph,
} from './mine-category-graph';
export {
  annotatedParts,
  localizeParts,
  type LocalizePartsOptions,
  type LocalizedParts,
} from './localize-parts';
export { drawGraphNodes, type DrawGraphNodesOptions } from './draw-graph-nodes';
export { formatGraphSummary, summariseGraph, type GraphSummary } from './graph-summary';
export { formatLocalization, formatLocalizationReport, type LocalizationReport } from './format-localization';
export {
  nodeKey,
  nodeUnit,
  nodeVisualizations,
  visualizeGraphNodes,
  type VisualizeGraphNodesOptions,
} from './visualize-nodes';
export {
  AOG_FORMAT,
  AOG_VIEWS,
  aogSize,
  assertAogFits,
  graphDigest,
  learnAog,
  localizeWithAog,
  type AndOrGraph,
  type AogNode,
  type AogParse,
  type AogPart,
  type AogTemplate,
  type AogVote,
  type LearnAogOptions,
  type PartParse,
  type PartShots,
} from './aog';
export { AOG_FORMAT_VERSION, decodeAog, encodeAog, loadAog, saveAog } from './aog-artifact';
export {
  AOG_ATTACHMENT,
  drawPartShots,
  imageFileAsPartImages,
  learnCategoryAog,
  loadAogFor,
  localizeImagesWithAog,
  type LearnCategoryAogOptions,
  type LearnedCategoryAog,
} from './aog-source';
export { formatAogParse, formatAogSummary, summariseAog, type AogSummary } from './aog-summary';
export { aogNodes, writeAogPage } from './aog-browser';
