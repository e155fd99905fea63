export { CORE_TOKENS, type BackendSelector, type Environment } from './tokens';
export { coreContainerModule, type CoreModuleOptions } from './core-module';
