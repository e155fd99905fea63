/**
 * @transplant/composer — assembles specific and generic networks from module plugins and
 * registry modules; runs links, freezes modules, publishes and exports networks.
 */
export { PluginRegistry } from './plugin-registry';
export { COMPOSER_TOKENS, composerContainerModule } from './composer-module';
export {
  createModule,
  disposeModule,
  encodeModuleWeights,
  moduleFromManifest,
  type CreateModuleOptions,
  type ModuleInstance,
  type PublishedIdentity,
} from './module-instance';
export { checkLinkPorts, linkId, type LinkSpec, type PortedModule } from './link-ports';
export { Network } from './network';
export {
  COMPOSITION_FAMILY,
  parseComposition,
  parseGenericRecord,
  type CompositionOptions,
  type GenericRecord,
} from './composition';
export { Composer, type LinkRefs } from './composer';
export { moduleArtifact, publishModule, publishNetwork, type PublishMeta } from './publish';
export { EXPORTED_MODEL_FILES, exportLayersModel } from './export-layers-model';
export { addCounts, imageCounts, taskCounts, taskLoss, taskMetric, type TaskCounts } from './task-math';
export * from './import';
export {
  clsPrediction,
  formatPrediction,
  predictImage,
  type ClassScore,
  type Prediction,
  type PredictImageOptions,
} from './predict-image';
export { composeNetwork, type ComposeNetworkOptions } from './compose-network';
export { headActivation, type HeadActivation } from './head-activation';
