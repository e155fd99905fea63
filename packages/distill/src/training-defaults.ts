/**
 * The training choices and their defaults, in one module of plain values (`@transplant/distill/options`):
 * a command line reads them to describe and check its options before loading any tensor code.
 */

/** bd: back-distillation (gradients + outputs); kd: output distillation only; ol: task loss on annotated samples. */
export const METHODS = ['bd', 'kd', 'ol'] as const;
export type DistillMethod = (typeof METHODS)[number];

/** How a mask output is probed; a scalar score is always probed with ones. */
export type ProbeKind = 'random' | 'pseudo-label';
/** The probe kinds, in the order a usage error names them. */
export const PROBE_KINDS: readonly ProbeKind[] = ['random', 'pseudo-label'];

/**
 * The default probe of a mask: pseudo-label. BD with 0 samples, 300 steps, seed 1, measured on
 * the zoo: horse-seg → cow-seg IoU 0.566 vs 0.490 with random probes, sheep-seg → horse-seg
 * 0.654 vs 0.593.
 */
export const DEFAULT_MASK_PROBE: ProbeKind = 'pseudo-label';

/**
 * How the seg → cls bridge is calibrated (docs/calibration.md): `label-free` (the default) fits
 * it to the teacher's own mask decisions on images whose class is never read; `labelled` fits it
 * to class labels of dev-split images, and every one of them counts as an annotated image.
 */
export const CALIBRATION_MODES = ['label-free', 'labelled'] as const;
export type CalibrationMode = (typeof CALIBRATION_MODES)[number];
export const DEFAULT_CALIBRATION: CalibrationMode = 'label-free';

/** Adapters by name: how many conv+ReLU layers each has. */
export const ADAPTER_LAYERS = { conv1: 1, conv3: 3 } as const;
export type AdapterName = keyof typeof ADAPTER_LAYERS;
/** The adapter names, in the order of {@link ADAPTER_LAYERS}: conv1, conv3. */
export const ADAPTER_NAMES = Object.keys(ADAPTER_LAYERS) as AdapterName[];

/**
 * The defaults of adapter training, in one place: the `transplant` and `transplant generic`
 * commands, their nx targets, the paper table (inserted adapters) and the generic-growth bench
 * all start from these. Back-distillation from unlabeled images only (0 samples), one
 * conv+ReLU adapter, 300 steps, seed 1.
 */
export const ADAPTER_TRAINING_DEFAULTS = {
  method: 'bd',
  samples: 0,
  adapter: 'conv1',
  probe: DEFAULT_MASK_PROBE,
  steps: 300,
  seed: 1,
} as const satisfies {
  method: string;
  samples: number;
  adapter: AdapterName;
  probe: string;
  steps: number;
  seed: number;
};

/** Whether `name` is an adapter name (`conv1`, `conv3`). */
export const isAdapterName = (name: string): name is AdapterName => Object.hasOwn(ADAPTER_LAYERS, name);
