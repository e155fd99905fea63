export { runCli, type CliIo } from './program';
export { buildContainer } from './container';
export { collectDoctorReport, formatDoctorReport, type DoctorReport } from './commands/doctor';
export { EMBEDDED_REGISTRY, resolveRegistryLocation, type RegistryLocation } from './registry-location';
export { GENERATED_BY, TRANSPLANT_VERSION } from './version';
export { builtinPlugins } from './plugins';
