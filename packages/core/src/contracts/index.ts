export {
  MODULE_KINDS,
  MODULE_KIND_IDS,
  TASKS,
  TASK_IDS,
  type ModuleKind,
  type TaskBehaviour,
  type TaskBridge,
  type TaskId,
} from './module-kinds';
export {
  PORT_DTYPES,
  PORT_ROLES,
  VALUE_RANGES,
  PortDto,
  PortsDto,
  featureMapPort,
  portMismatches,
  type Port,
  type PortDtype,
  type PortRole,
  type ValueRange,
} from './ports';
export { DIGEST_PATTERN, MODULE_NAME_MAX_LENGTH, MODULE_NAME_PATTERN, isModuleName } from './names';
export {
  CardDto,
  DependencyDto,
  FamilyDto,
  MANIFEST_FORMAT_VERSION,
  MetricDto,
  ModuleManifestDto,
  PinnedDto,
  ProvenanceDto,
  WeightsDto,
  type ModuleManifest,
} from './manifest.dto';
export { validateManifest, type Violation } from './validate-manifest';
export { formatModuleRef, isExactVersion, matchVersion, parseModuleRef, type ModuleRef } from './module-ref';
