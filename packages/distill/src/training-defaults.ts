import { DEFAULT_MASK_PROBE } from './train-adapter';

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
