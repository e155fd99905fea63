export type { BuildContext, BuildableKind, BuiltModule, ModulePlugin } from './module-plugin';
export { parsePluginOptions } from './plugin-options';
export { loadModuleWeights, moduleWeights } from './module-weights';
export { FeatureMapInputOptions } from './feature-map-input';
export { normaliseTfAttr, type TfAttrValue } from './tf-attr';
