/**
 * `@transplant/distill/options`: the adapter-training choices (methods, adapters, probes,
 * calibrations) and their defaults, as plain values: a command line describes and checks its
 * options with them before loading any tensor code.
 */
export {
  ADAPTER_LAYERS,
  ADAPTER_NAMES,
  ADAPTER_TRAINING_DEFAULTS,
  CALIBRATION_MODES,
  DEFAULT_CALIBRATION,
  DEFAULT_MASK_PROBE,
  METHODS,
  PROBE_KINDS,
  isAdapterName,
  type AdapterName,
  type CalibrationMode,
  type DistillMethod,
  type ProbeKind,
} from './training-defaults';
