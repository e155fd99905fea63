import * as tf from '@tensorflow/tfjs';
import {
  TASKS,
  TransplantError,
  isModuleName,
  isTransplantError,
  loadModuleWeights,
  parsePluginOptions,
  type Port,
  type TaskId,
  type ValueRange,
} from '@transplant/core';
import { createModule, disposeModule, type ModuleInstance } from '../module-instance';
import { runPluginHook } from '../plugin-hook';
import type { PluginRegistry } from '../plugin-registry';
import { featureStride, featureValues } from './feature-port';
import { parseTopology } from './keras-topology';
import { localWeightNames, type LayersModelFiles } from './model-weights';
import { splitLayersModel, type GraphPart } from './split-layers-model';

/** The plugin families imported modules are built by (registered at the composition root). */
export const IMPORTED_FAMILIES = {
  category: 'imported-category',
  cls: 'imported-cls',
  seg: 'imported-seg',
} as const satisfies Record<'category' | TaskId, string>;

export interface ImportLayersModelOptions {
  /** The model, as `readModelFiles` reads it. */
  readonly model: LayersModelFiles;
  /** The layer to split after: its output is the feature map between the two modules. */
  readonly split: string;
  /** The category the category module is for. */
  readonly category: string;
  readonly task: TaskId;
  /** The modules are `<name>-features` and `<name>-head`; default `<category>-<task>-imported`. */
  readonly name?: string;
  /** The feature map's stride, when input side / feature side is not it (or not an integer). */
  readonly stride?: number;
}

export interface ImportedModules {
  readonly name: string;
  readonly category: ModuleInstance;
  readonly task: ModuleInstance;
  /** The feature-map port between them. */
  readonly feature: Port;
}

type PartOptions = GraphPart & { inputShape: number[]; stride: number; values: ValueRange };

function rejected(part: string, family: string, error: unknown): unknown {
  if (!isTransplantError(error, 'E_OPTIONS_INVALID')) return error;
  return new TransplantError(
    'E_IMPORT_MODEL',
    `the ${part} does not make an ${family} module: ${error.message}`,
    { module: family, operation: 'import', details: error.details, cause: error },
  );
}

/** The ports a part's options give, errors of the family's options schema reported as import errors. */
function probePorts(
  plugins: PluginRegistry,
  {
    family,
    part,
    options,
  }: { readonly family: string; readonly part: string; readonly options: PartOptions },
): { input: Port; output: Port } {
  const plugin = plugins.get(family);
  try {
    const parsed = runPluginHook({ plugin, hook: 'options', module: part }, () =>
      parsePluginOptions(plugin, options),
    );
    return runPluginHook({ plugin, hook: 'ports', module: part }, () => plugin.ports(parsed));
  } catch (error) {
    throw rejected(part, family, error);
  }
}

function loadPart(
  instance: ModuleInstance,
  part: GraphPart,
  weights: ReturnType<typeof localWeightNames>,
): void {
  const names = new Set(part.layers.map((l) => l.name));
  const tensors = Object.fromEntries(
    weights
      .filter((w) => names.has(w.layer))
      .map((w) => [w.name, tf.tensor(w.data, [...w.shape], 'float32')]),
  );
  try {
    loadModuleWeights(instance, { tensors, module: instance.name });
  } finally {
    tf.dispose(Object.values(tensors));
  }
}

/**
 * Splits a TensorFlow.js LayersModel after `split` into a category module (the split layer and
 * its ancestors) and a task module (the rest), built by the imported-* plugin families with the
 * model's weights loaded. Ports come from the layer shapes: the image at stride 1, the split
 * layer's output as the feature map (stride = input side / feature side, values from the
 * activations), the model output as logits or mask logits. The caller owns the modules.
 */
export function importLayersModel(
  plugins: PluginRegistry,
  options: ImportLayersModelOptions,
): ImportedModules {
  const source = options.model.source;
  const name = options.name ?? `${options.category}-${options.task}-imported`;
  for (const [what, value] of [
    ['category', options.category],
    ['name', `${name}-features`],
  ] as const) {
    if (!isModuleName(value))
      throw new TransplantError('E_MODULE_REF_INVALID', `${what} "${value}" is not a module name`, {
        module: source,
        operation: 'import',
      });
  }
  const graph = parseTopology(options.model.modelJson, source);
  const integers = options.model.weights.filter((w) => w.dtype !== 'float32').map((w) => w.name);
  if (integers.length > 0)
    throw new TransplantError(
      'E_IMPORT_MODEL',
      `${source}: weights ${integers.slice(0, 5).join(', ')} are ${options.model.weights.find((w) => w.dtype !== 'float32')!.dtype}; a LayersModel's weights are float32`,
      { module: source, operation: 'import' },
    );
  const parts = splitLayersModel(graph, options.split);
  const inputShape = graph.input.shape.slice(1);
  if (inputShape.length === 0 || inputShape.some((n) => n === null))
    throw new TransplantError(
      'E_IMPORT_MODEL',
      `${source}: the input is [${graph.input.shape.join(', ')}]; its size must be fixed, e.g. [null, 64, 64, 3]`,
      { module: source, operation: 'import' },
    );
  const lower = {
    ...parts.lower,
    inputShape: inputShape as number[],
    stride: 0,
    values: 'real' as ValueRange,
  };
  const featureShape = probePorts(plugins, {
    family: IMPORTED_FAMILIES.category,
    part: 'lower part',
    options: lower,
  }).output.shape;
  const facts = {
    stride: featureStride(graph.input.shape, featureShape, options.split, options.stride),
    values: featureValues(graph, options.split),
  };
  const upper = { ...parts.upper, inputShape: featureShape.slice(1) as number[], ...facts };
  const family = IMPORTED_FAMILIES[options.task];
  const output = probePorts(plugins, { family, part: 'upper part', options: upper }).output.shape;
  if (
    TASKS[options.task].output === 'mask-logits' &&
    (output[1] !== inputShape[0] || output[2] !== inputShape[1])
  ) {
    throw new TransplantError(
      'E_IMPORT_MODEL',
      `${source}: the output is [${output.join(', ')}]; a seg task module outputs mask logits at the image size [null, ${inputShape.slice(0, 2).join(', ')}, 1]`,
      { module: source, operation: 'import' },
    );
  }
  const weights = localWeightNames(options.model.weights, new Set(graph.layers.map((l) => l.name)), source);
  const made: ModuleInstance[] = [];
  try {
    made.push(
      createModule(plugins, {
        name: `${name}-features`,
        family: IMPORTED_FAMILIES.category,
        options: { ...lower, ...facts },
        category: options.category,
      }),
    );
    made.push(createModule(plugins, { name: `${name}-head`, family, options: upper }));
    loadPart(made[0]!, parts.lower, weights);
    loadPart(made[1]!, parts.upper, weights);
  } catch (error) {
    made.forEach(disposeModule);
    throw error;
  }
  return { name, category: made[0]!, task: made[1]!, feature: made[0]!.ports.output };
}
