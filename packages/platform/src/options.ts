/**
 * `@transplant/platform/options`: Transplant's version and where the default registries and the
 * workspace are, for a command line that prints them or checks its options before loading
 * plugins or tensor code.
 */
export { GENERATED_BY, TRANSPLANT_VERSION } from './version';
export {
  EMBEDDED_REGISTRY,
  WORKSPACE_ROOT,
  ZOO_REGISTRY,
  findWorkspaceRoot,
  registryOpenOptions,
  resolveRegistryLocation,
  userRegistry,
  type RegistryDefaults,
  type RegistryLocation,
} from './registry-location';
