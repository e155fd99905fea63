/**
 * @transplant/distill — back-distillation (docs/methods.md §4) and the ordinary-learning baseline:
 * trains only the adapter between a frozen category module and a frozen task module.
 */
export { adapterForward, adapterVjp, convReluChain } from './adapter-vjp';
export {
  bdLoss,
  disposeTargets,
  pseudoLabelProbe,
  studentGradient,
  taskProbeGradient,
  teacherTargets,
  type BdWeights,
  type TeacherFn,
  type TeacherTargets,
} from './bd-loss';
export {
  METHOD_WEIGHTS,
  trainAdapter,
  trainAdapterOnFeatures,
  type AdapterLink,
  type TrainAdapterArgs,
  type TrainOnFeaturesArgs,
} from './train-adapter';
export {
  PRESENCE_SHARE,
  fitCalibration,
  fitLabelFreeCalibration,
  linkOf,
  maskCoverage,
  presenceScore,
  resolveTeacher,
  teacherFor,
  teacherFunction,
  type BridgeCalibration,
  type Calibration,
  type SpecificNetwork,
  type TeacherResolution,
} from './teacher';
export {
  CALIBRATION_IMAGES,
  CALIBRATION_MIXTURE,
  annotatedImages,
  annotationLine,
  calibrateBridge,
  labelFreeCalibration,
  labelledCalibration,
  type BridgeTeacher,
} from './bridge-calibration';
export {
  learnLink,
  transplant,
  type LearnLinkOptions,
  type LearnedLink,
  type TransplantOptions,
  type TransplantResult,
} from './transplant';
export {
  HELD_OUT,
  NEGATIVES,
  describeTransplantData,
  transplantData,
  type TransplantDataOptions,
} from './transplant-data';
export { lossCurvePng } from './loss-curve';
export { writeTransplantReport } from './report';
export {
  GUARD_PROBE,
  addCategory,
  addTask,
  assertNoForgetting,
  createGeneric,
  genericMatrix,
  linkDigests,
  loadGeneric,
  removeCategory,
  type CreateGenericOptions,
  type GenericChange,
  type GenericContext,
  type GenericMatrix,
  type GenericNetwork,
  type GrowFromOptions,
  type LinkOutcome,
  type LinkTraining,
  type RemoveCategoryOptions,
} from './generic';
export * from './options';
export {
  formatGenericChange,
  formatGenericMatrix,
  genericMatrixPng,
  showGeneric,
  type ShowGenericOptions,
} from './generic-view';
export {
  formatTransplant,
  transplantSummary,
  transplantWithReport,
  TRANSPLANT_REPORT_ATTACHMENT,
  type TransplantReportOptions,
} from './transplant-summary';
export {
  nextFreeVersion,
  publishAtFreeVersion,
  publishModuleOnce,
  publishNetworkOnce,
} from './publish-resumed';
