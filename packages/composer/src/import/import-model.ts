import { basename, dirname, join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { TransplantError, isTransplantError, validateManifest, type TaskId } from '@transplant/core';
import { writeModuleFolder, type Registry } from '@transplant/registry';
import { disposeModule, type ModuleInstance } from '../module-instance';
import { Network } from '../network';
import type { PluginRegistry } from '../plugin-registry';
import { moduleArtifact, publishModule, publishNetwork, type PublishMeta } from '../publish';
import { checkImages, compareWithOriginal, differenceToReference } from './check-import';
import { importGraphModel, isGraphModelJson } from './import-graph-model';
import { importLayersModel, type ImportedModules } from './import-layers-model';
import { readModelFiles, type LayersModelFiles } from './model-weights';
import { parseTopology } from './keras-topology';

/** Largest difference to the original model that still counts as the same network. */
export const IMPORT_CHECK_TOLERANCE = 1e-4;

export interface ImportModelOptions {
  /** The module plugins; the imported-* families must be among them. */
  readonly plugins: PluginRegistry;
  /** model.json, next to its weight files. */
  readonly model: string;
  /** The layer whose output is the feature map between the two modules. */
  readonly split: string;
  readonly category: string;
  readonly task: TaskId;
  /** Module and network name prefix (default `<category>-<task>-imported`). */
  readonly name?: string;
  readonly stride?: number;
  readonly version: string;
  readonly generatedBy: string;
  /** Compare the modules with the original model on random images, and refuse a difference. */
  readonly check: boolean;
  /** Write the module folders here. */
  readonly out?: string;
  /** Publish the modules and their network to this registry (opened only when needed). */
  readonly registry?: () => Promise<Registry>;
  /** GraphModels: the node whose value the task module outputs (default: the model's one output). */
  readonly output?: string;
  /** GraphModels: the input range the model expects, mapped from unit images (default [0, 1]). */
  readonly inputRange?: readonly [number, number];
  /** GraphModels: output channels kept, in order (e.g. chosen classes of per-class heat maps). */
  readonly channels?: readonly number[];
  /** GraphModels: a name per kept channel, stored with the task module. */
  readonly labels?: readonly string[];
  /** Photos to check the modules on (resized to the input); default seeded noise. */
  readonly checkImages?: readonly string[];
  /** A line for the user (the check skipped). */
  readonly warn?: (line: string) => void;
}

export interface ImportModelReport {
  readonly name: string;
  readonly split: string;
  readonly modules: {
    name: string;
    family: string;
    kind: string;
    layers: number;
    ports: ModuleInstance['ports'];
  }[];
  /** Largest difference to the original model, or null when not checked. */
  readonly difference: number | null;
  readonly written: string[];
  readonly published: string[];
}

/** Runs both networks on the same images; refuses an import that does not reproduce the model. */
async function check(
  files: LayersModelFiles,
  imported: ImportedModules,
  warn: (line: string) => void,
  images?: readonly string[],
): Promise<number | null> {
  let difference: number;
  try {
    difference = await compareWithOriginal(files, imported, { ...(images ? { images } : {}) });
  } catch (error) {
    if (isTransplantError(error)) throw error;
    // Stock tfjs cannot load some models we can split (e.g. prefixed weight names): say so, go on.
    warn(
      `warning: the check was skipped: tf.loadLayersModel cannot load ${files.source}: ${(error as Error).message}`,
    );
    return null;
  }
  return withinTolerance(difference, files.source);
}

/** Refuses an import whose modules differ from the original by more than the tolerance. */
function withinTolerance(difference: number, source: string): number {
  if (!(difference <= IMPORT_CHECK_TOLERANCE)) {
    throw new TransplantError(
      'E_IMPORT_MODEL',
      `the imported modules differ from the model by up to ${difference} (tolerance ${IMPORT_CHECK_TOLERANCE})`,
      { module: source, operation: 'check' },
    );
  }
  return difference;
}

/** Writes the module folders (`out`) and/or publishes the modules and their network (`registry`). */
async function deliver(
  imported: ImportedModules,
  options: ImportModelOptions,
  meta: PublishMeta,
): Promise<{ written: string[]; published: string[] }> {
  const modules = [imported.category, imported.task];
  const written: string[] = [];
  for (const m of options.out ? modules : []) {
    const artifact = moduleArtifact(m, meta);
    validateManifest(artifact.manifest, m.name);
    await writeModuleFolder(join(resolve(options.out!), m.name), artifact);
    written.push(join(resolve(options.out!), m.name));
  }
  const published: string[] = [];
  if (options.registry) {
    const registry = await options.registry();
    for (const m of modules) published.push(`${m.name}@${(await publishModule(registry, m, meta)).version}`);
    const network = Network.create(modules, [{ category: imported.category.name, task: imported.task.name }]);
    const result = await publishNetwork(registry, network, { ...meta, name: imported.name });
    published.push(`${result.name}@${result.version}`);
  }
  return { written, published };
}

/**
 * The import workflow: splits a TensorFlow.js LayersModel into a category module and a task
 * module (ports inferred from the layer shapes), checks them against the model, and writes them
 * as module folders and/or publishes them with a network composition. The modules are disposed
 * afterwards; `feature` is the port between them.
 */
export async function importModel(
  options: ImportModelOptions,
): Promise<{ report: ImportModelReport; feature: ImportedModules['feature'] }> {
  const path = resolve(options.model);
  const files = await readModelFiles(path);
  const graphModel = isGraphModelJson(files.modelJson);
  const common = {
    model: files,
    split: options.split,
    category: options.category,
    task: options.task,
    ...(options.name ? { name: options.name } : {}),
    ...(options.stride !== undefined ? { stride: options.stride } : {}),
  };
  let imported: ImportedModules;
  let verify: () => Promise<number | null>;
  let dispose = () => undefined as void;
  if (graphModel) {
    const g = await importGraphModel(options.plugins, {
      ...common,
      ...(options.output !== undefined ? { output: options.output } : {}),
      ...(options.inputRange ? { inputRange: options.inputRange } : {}),
      ...(options.channels ? { channels: options.channels } : {}),
      ...(options.labels ? { labels: options.labels } : {}),
    });
    imported = g;
    g.warnings.forEach((line) => options.warn?.(line));
    dispose = () => g.original.dispose();
    const [lo, hi] = options.inputRange ?? [0, 1];
    const channels = options.channels ?? [];
    const size =
      options.task === 'seg' ? (g.category.ports.input.shape.slice(1, 3) as [number, number]) : undefined;
    verify = async () => {
      const images = await checkImages(g.category.ports.input.shape.slice(1) as number[], {
        ...(options.checkImages ? { images: options.checkImages } : {}),
      });
      try {
        const difference = differenceToReference(
          g,
          (x) => {
            let out = g.original.execute(tf.add(tf.mul(x, hi - lo), lo), g.output) as tf.Tensor;
            if (channels.length > 0) out = tf.gather(out, [...channels], out.rank - 1);
            return size ? tf.image.resizeBilinear(out as tf.Tensor4D, size) : out;
          },
          images,
        );
        return withinTolerance(difference, files.source);
      } finally {
        images.dispose();
      }
    };
  } else {
    const graphOnly = [
      ['--output', options.output],
      ['--input-range', options.inputRange],
      ['--channels / --classes', options.channels],
    ].filter(([, v]) => v !== undefined);
    if (graphOnly.length > 0)
      throw new TransplantError(
        'E_INVALID_ARGUMENT',
        `${graphOnly.map(([f]) => f).join(', ')}: for GraphModels only; ${basename(path)} is a LayersModel (split it with --split LAYER)`,
        { module: path, operation: 'import' },
      );
    imported = importLayersModel(options.plugins, common);
    const topology = parseTopology(files.modelJson, files.source);
    const activation = topology.layers.find((l) => l.name === topology.output)?.config['activation'];
    if (activation === 'softmax' || activation === 'sigmoid')
      options.warn?.(
        `warning: the output layer ${topology.output} ends in a ${activation}, so the head outputs probabilities; Transplant reads a head's output as logits (0 = undecided), so its scores and thresholds do not mean what they say for this head`,
      );
    verify = () => check(files, imported, options.warn ?? (() => undefined), options.checkImages);
  }
  try {
    const difference = options.check ? await verify() : null;
    const meta: PublishMeta = {
      version: options.version,
      generatedBy: options.generatedBy,
      provenance: {
        data: `imported from ${join(basename(dirname(path)), basename(path))}, split at ${options.split}${graphModel ? ` (GraphModel, output ${(imported as { output?: string }).output ?? ''})` : ''}`.slice(
          0,
          500,
        ),
        seed: 0,
        steps: 0,
        backend: tf.getBackend(),
      },
      card: {
        summary: `imported from a TensorFlow.js ${graphModel ? 'GraphModel' : 'LayersModel'}; ${difference === null ? 'not checked' : `max difference to the original ${difference}`}`,
        metrics: [],
      },
    };
    const delivered = await deliver(imported, options, meta);
    const modules = [imported.category, imported.task];
    return {
      report: {
        name: imported.name,
        split: options.split,
        modules: modules.map((m) => ({
          name: m.name,
          family: m.plugin.family,
          kind: m.kind,
          layers: m.built.layers.length,
          ports: m.ports,
        })),
        difference,
        ...delivered,
      },
      feature: imported.feature,
    };
  } finally {
    [imported.category, imported.task].forEach(disposeModule);
    dispose();
  }
}

/** The import as lines of text. */
export function formatImport(
  model: string,
  report: ImportModelReport,
  feature: ImportedModules['feature'],
): string {
  const checked =
    report.difference === null ? 'not checked' : `max difference to the original ${report.difference}`;
  return [
    `split ${basename(model)} at ${report.split}: ${report.modules.map((m) => `${m.name} (${m.layers} layers)`).join(' → ')}`,
    `feature map [${feature.shape.join(', ')}] stride ${feature.stride} values ${feature.values}; ${checked}`,
    ...report.written.map((w) => `wrote ${w}`),
    ...(report.published.length > 0 ? [`published ${report.published.join(', ')}`] : []),
  ].join('\n');
}
