export type { BuildContext, BuildableKind, BuiltModule, ModulePlugin } from './module-plugin';
export { parsePluginOptions } from './plugin-options';
export { loadModuleWeights, moduleWeights } from './module-weights';
