/**
 * @transplant/interpretable — interpretable conv layers (docs/methods.md §2): the part mask (the
 * `PartMask` layer of @transplant/core, an option of the category-vgg family), the filter
 * loss (exact −MI and the authors' hand-built gradient), β's update, filter-to-category
 * assignment, and the interpretability metrics (location instability, part
 * interpretability) for any conv layer of any network, with heat-map pictures.
 */
export { PART_MASK_MODES, PartMask, applyPartMask, partMasks, type PartMaskMode } from '@transplant/core';
export {
  HAND_BUILT_TEMPERATURE,
  TEMPLATE_BETA,
  handBuiltFilterGradient,
  handBuiltFilterLossProbe,
  mutualInformationLoss,
  positiveTemplates,
  recordingProbe,
  templateTau,
  type HandBuiltGradientOptions,
} from './filter-loss';
export { BETA_RANGE, BETA_RELAXATION, relaxBeta, relaxedBeta } from './beta-update';
export { FilterAssignment } from './filter-assignment';
export {
  cellGeometry,
  convLayerNames,
  findLayer,
  layerActivations,
  type CellGeometry,
  type LayerRef,
} from './layer-probe';
export {
  filterQuantile,
  locationInstability,
  partInterpretability,
  peaks,
  unitInstability,
  upsampleMap,
  upsampledMask,
  type FeatureMaps,
  type InstabilityOptions,
  type InstabilityResult,
  type InterpretabilityOptions,
  type InterpretabilityResult,
} from './metrics';
export {
  INSTABILITY_LANDMARKS,
  backgroundImages,
  imagesTensor,
  interpretLayer,
  partCentres,
  partImages,
  partNameOf,
  rgbTensor,
  type InterpretLayerOptions,
  type InterpretOptions,
  type LayerInterpretation,
  type PartImages,
} from './interpret';
export { renderFilterHeatmaps, topFilters, type HeatmapOptions } from './heatmaps';
export {
  experimentData,
  INTERPRETABLE_DEFAULTS,
  buildExperimentNetwork,
  experimentError,
  experimentEvaluation,
  initCategoryModule,
  networkModules,
  trainExperimentNetwork,
  type ExperimentDataOptions,
  type ExperimentEvaluation,
  type ExperimentRun,
  type FilterLossMode,
  type InterpretableNetworkOptions,
  type TrainResult,
} from './train-interpretable';
export {
  formatLayerMetrics,
  interpretNetworkLayer,
  type InterpretNetworkLayerOptions,
  type MetricsReport,
} from './interpret-network-layer';
export * from './visualize';
export * from './visualize-report';
