import {
  Network,
  createModule,
  disposeModule,
  moduleArtifact,
  publishModule,
  publishNetwork,
  type ModuleInstance,
  type PluginRegistry,
  type PublishMeta,
} from '@transplant/composer';
import * as tf from '@tensorflow/tfjs';
import {
  TransplantError,
  loadModuleWeights,
  moduleWeights,
  removeCheckpoint,
  type TaskId,
} from '@transplant/core';
import { foldBatchNorm, type CategoryVggOptions } from '@transplant/plugin-category-vgg';
import type { CategoryId } from '@transplant/data';
import type { Registry } from '@transplant/registry';

import { evaluateSpecific, meetsGoal, trainSpecific } from './train-specific';
import { describeZooData, zooData } from './zoo-data';
import {
  FAMILIES,
  TRAINABLE_CATEGORIES,
  ZOO_TASKS,
  moduleNames,
  networkName,
  type TrainingPlan,
} from './zoo-spec';

/** What a zoo card calls a network of each task. */
const CARD_TASK: Record<TaskId, (category: CategoryId) => string> = {
  cls: (category) => `classifier (${category} vs. other animals and backgrounds)`,
  seg: () => 'segmentation',
};

export interface ZooEntryResult {
  readonly network: string;
  readonly version: string;
  readonly metrics: readonly { name: string; value: number }[];
  readonly steps: number;
  readonly wallSeconds: number;
  readonly backend: string;
  readonly status: 'trained' | 'published earlier';
}

export interface ZooEntryArgs {
  readonly category: CategoryId;
  readonly task: TaskId;
  readonly plan: TrainingPlan;
  readonly seed: number;
  readonly version: string;
  /** Train the category module with batch normalisation and publish it folded (recipe 1.1.0). */
  readonly batchNorm: boolean;
  /** The category module's conv widths per block when the recipe changes them (default: FAMILIES.category). */
  readonly blocks?: readonly (readonly number[])[];
  readonly registry: Registry;
  readonly plugins: PluginRegistry;
  readonly backend: string;
  readonly generatedBy: string;
  readonly checkpointDir: string;
  readonly log: (line: string) => void;
}

async function published(registry: Registry, name: string, version: string) {
  try {
    return (await registry.manifest(`${name}@${version}`)).manifest;
  } catch (error) {
    if (
      error instanceof TransplantError &&
      (error.code === 'E_MODULE_NOT_FOUND' || error.code === 'E_VERSION_NOT_FOUND')
    )
      return undefined;
    throw error;
  }
}

/**
 * Publishes a module unless this exact version is there already with the same weights (a
 * run stopped between publishing a module and its network); other weights are refused.
 */
async function publishOnce(registry: Registry, module: ModuleInstance, meta: PublishMeta): Promise<void> {
  try {
    await publishModule(registry, module, meta);
  } catch (error) {
    if (!(error instanceof TransplantError && error.code === 'E_VERSION_EXISTS')) throw error;
    const { manifest } = await registry.manifest(`${module.name}@${meta.version}`);
    const mine = moduleArtifact(module, meta).manifest.weights.digest;
    if (manifest.weights.digest !== mine) throw error;
    module.published = { version: meta.version, digest: mine, manifest };
  }
}

/**
 * The network with the category module in its plain published form (BN folded into the
 * convs) and a copy of the task module; the given network stays the caller's to dispose.
 */
function foldedNetwork(
  network: Network,
  options: {
    readonly plugins: PluginRegistry;
    readonly names: { category: string; task: string };
    readonly category: string;
  },
): Network {
  const { plugins, names, category } = options;
  const bn = network.modules.get(names.category)!;
  const head = network.modules.get(names.task)!;
  const folded = foldBatchNorm(bn.options as CategoryVggOptions, moduleWeights(bn.built, bn.prefix));
  const plain = createModule(plugins, {
    name: names.category,
    family: bn.plugin.family,
    options: folded.options,
    category,
  });
  const task = createModule(plugins, {
    name: names.task,
    family: head.plugin.family,
    options: head.options,
    category,
  });
  try {
    loadModuleWeights(plain, { tensors: folded.weights, module: names.category });
    loadModuleWeights(task, { tensors: moduleWeights(head.built, head.prefix), module: names.task });
    return Network.create([plain, task], [names]);
  } catch (error) {
    [plain, task].forEach(disposeModule);
    throw error;
  } finally {
    tf.dispose(Object.values(folded.weights));
  }
}

/** Trains, evaluates and publishes one zoo network, or reports the one already published. */
export async function trainZooNetwork(args: ZooEntryArgs): Promise<ZooEntryResult> {
  const name = networkName(args.category, args.task);
  const existing = await published(args.registry, name, args.version);
  if (existing) {
    args.log(`already published as ${name}@${args.version}`);
    const p = existing.provenance;
    return {
      network: name,
      version: args.version,
      metrics: existing.card.metrics,
      steps: p.steps,
      wallSeconds: p.wallSeconds ?? 0,
      backend: p.backend,
      status: 'published earlier',
    };
  }
  const names = moduleNames(args.category, args.task);
  const seed =
    args.seed * 100 +
    TRAINABLE_CATEGORIES.indexOf(args.category as (typeof TRAINABLE_CATEGORIES)[number]) *
      ZOO_TASKS.length *
      10 +
    ZOO_TASKS.indexOf(args.task) * 10;
  const category = createModule(args.plugins, {
    name: names.category,
    family: FAMILIES.category.family,
    options: {
      ...FAMILIES.category.options,
      ...(args.blocks ? { blocks: args.blocks.map((b) => [...b]) } : {}),
      batchNorm: args.batchNorm,
    },
    seed,
    category: args.category,
  });
  const task = createModule(args.plugins, {
    name: names.task,
    family: FAMILIES[args.task].family,
    options: FAMILIES[args.task].options,
    seed: seed + 5,
    category: args.category,
  });
  let network = Network.create([category, task], [{ category: names.category, task: names.task }]);
  try {
    const data = zooData({ seed: args.seed, category: args.category, task: args.task });
    const trained = await trainSpecific({
      network,
      link: names,
      task: args.task,
      data,
      plan: args.plan,
      checkpointDir: args.checkpointDir,
      log: args.log,
    });
    if (args.batchNorm) {
      const folded = foldedNetwork(network, { plugins: args.plugins, names, category: args.category });
      network.dispose();
      network = folded;
      args.log("folded batch normalisation into the category module's convs");
    }
    // Evaluated as published: after folding; on dev (docs/protocol.md: the final test is read by `zoo:evaluate --final`).
    const metrics = evaluateSpecific({ network, link: names }, { task: args.task, data, split: 'dev' });
    args.log(`dev ${metrics.map((m) => `${m.name} ${m.value.toFixed(4)}`).join(', ')}`);
    const on = `${describeZooData(data)} (dev split)`;
    const meta: PublishMeta = {
      version: args.version,
      generatedBy: args.generatedBy,
      provenance: {
        data: describeZooData(data),
        seed: args.seed,
        steps: trained.steps,
        backend: args.backend,
        wallSeconds: Math.round(trained.wallSeconds * 10) / 10,
      },
      card: {
        summary: `${args.category} ${CARD_TASK[args.task](args.category)}: trained from scratch by the zoo${args.batchNorm ? ' (category module with batch normalisation, folded into its convs for publishing)' : ''}, Adam lr ${args.plan.learningRate}, batch ${args.plan.batchSize}, ${trained.steps} steps${trained.validation ? ` (${meetsGoal(args.plan, trained.validation.value) ? 'stopped on meeting the val goal' : 'the step cap'}: val ${trained.validation.name} ${trained.validation.value.toFixed(4)})` : ''}`,
        metrics: metrics.map((m) => ({ ...m, on })),
      },
    };
    // The network's own modules: after folding, no longer the ones created above.
    await publishOnce(args.registry, network.modules.get(names.category)!, meta);
    await publishOnce(args.registry, network.modules.get(names.task)!, meta);
    await publishNetwork(args.registry, network, { ...meta, name });
    removeCheckpoint(args.checkpointDir);
    args.log(`published ${name}@${args.version} (${names.category}, ${names.task})`);
    return {
      network: name,
      version: args.version,
      metrics,
      steps: trained.steps,
      wallSeconds: trained.wallSeconds,
      backend: args.backend,
      status: 'trained',
    };
  } finally {
    network.dispose();
  }
}
