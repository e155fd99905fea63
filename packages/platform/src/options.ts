/**
 * `@transplant/platform/options`: Transplant's version and where the default registry is, for a
 * command line that prints them or checks its options before loading plugins or tensor code.
 */
export { GENERATED_BY, TRANSPLANT_VERSION } from './version';
export { EMBEDDED_REGISTRY, resolveRegistryLocation, type RegistryLocation } from './registry-location';
