import { basename, dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import * as tf from '@tensorflow/tfjs';
import {
  Network,
  compareWithOriginal,
  disposeModule,
  importLayersModel,
  moduleArtifact,
  publishModule,
  publishNetwork,
  readLayersModel,
  type ImportedModules,
  type PublishMeta,
} from '@transplant/composer';
import {
  TASK_IDS,
  TransplantError,
  isTransplantError,
  validateManifest,
  type TaskId,
} from '@transplant/core';
import { writeModuleFolder, type Registry } from '@transplant/registry';
import { openCommandRegistry, selectCommandBackend, type CommandContext } from './command-context';

interface ImportOptions {
  model: string;
  split: string;
  category: string;
  task: string;
  name?: string;
  version: string;
  out?: string;
  publish?: boolean;
  stride?: string;
  check: boolean;
}

/** Largest difference to the original model that still counts as the same network. */
const CHECK_TOLERANCE = 1e-4;

function usage(detail: string): TransplantError {
  return new TransplantError('E_USAGE', detail, { operation: 'import' });
}

function parseUsage(o: ImportOptions): { task: TaskId; stride?: number } {
  if (!(TASK_IDS as string[]).includes(o.task))
    throw usage(`--task ${o.task}: use one of ${TASK_IDS.join(', ')}`);
  if (!o.out && !o.publish)
    throw usage('say where the modules go: --out DIR (module folders) and/or --publish (the registry)');
  if (o.stride !== undefined && !/^\d+$/.test(o.stride))
    throw usage(`--stride ${o.stride}: a non-negative integer`);
  return { task: o.task as TaskId, ...(o.stride !== undefined ? { stride: Number(o.stride) } : {}) };
}

/** Runs both networks on the same images; refuses an import that does not reproduce the model. */
async function check(
  files: Awaited<ReturnType<typeof readLayersModel>>,
  imported: ImportedModules,
  ctx: CommandContext,
): Promise<number | null> {
  let difference: number;
  try {
    difference = await compareWithOriginal(files, imported);
  } catch (error) {
    if (isTransplantError(error)) throw error;
    // Stock tfjs cannot load some models we can split (e.g. prefixed weight names): say so, go on.
    ctx.err(
      `warning: the check was skipped: tf.loadLayersModel cannot load ${files.source}: ${(error as Error).message}\n`,
    );
    return null;
  }
  if (!(difference <= CHECK_TOLERANCE)) {
    throw new TransplantError(
      'E_IMPORT_MODEL',
      `the imported modules differ from the model by up to ${difference} (tolerance ${CHECK_TOLERANCE})`,
      { module: files.source, operation: 'check' },
    );
  }
  return difference;
}

/** Writes the module folders (`--out`) and/or publishes the modules and their network (`--publish`). */
async function deliver(
  imported: ImportedModules,
  o: ImportOptions,
  meta: PublishMeta,
  openRegistry: () => Promise<Registry>,
): Promise<{ written: string[]; published: string[] }> {
  const modules = [imported.category, imported.task];
  const written: string[] = [];
  for (const m of o.out ? modules : []) {
    const artifact = moduleArtifact(m, meta);
    validateManifest(artifact.manifest, m.name);
    await writeModuleFolder(join(resolve(o.out!), m.name), artifact);
    written.push(join(resolve(o.out!), m.name));
  }
  const published: string[] = [];
  if (o.publish) {
    const registry = await openRegistry();
    for (const m of modules) published.push(`${m.name}@${(await publishModule(registry, m, meta)).version}`);
    const network = Network.create(modules, [{ category: imported.category.name, task: imported.task.name }]);
    const result = await publishNetwork(registry, network, { ...meta, name: imported.name });
    published.push(`${result.name}@${result.version}`);
  }
  return { written, published };
}

function report(
  imported: ImportedModules,
  o: ImportOptions,
  result: { difference: number | null; written: string[]; published: string[] },
): [unknown, string] {
  const modules = [imported.category, imported.task];
  const f = imported.feature;
  const checked =
    result.difference === null ? 'not checked' : `max difference to the original ${result.difference}`;
  const value = {
    name: imported.name,
    split: o.split,
    modules: modules.map((m) => ({
      name: m.name,
      family: m.plugin.family,
      kind: m.kind,
      layers: m.built.layers.length,
      ports: m.ports,
    })),
    ...result,
  };
  const text = [
    `split ${basename(o.model)} at ${o.split}: ${modules.map((m) => `${m.name} (${m.built.layers.length} layers)`).join(' → ')}`,
    `feature map [${f.shape.join(', ')}] stride ${f.stride} values ${f.values}; ${checked}`,
    ...result.written.map((w) => `wrote ${w}`),
    ...(result.published.length > 0 ? [`published ${result.published.join(', ')}`] : []),
  ];
  return [value, text.join('\n')];
}

/**
 * `transplant import`: splits a TensorFlow.js LayersModel into a category module and a task
 * module (ports inferred from the layer shapes), checks them against the model, and writes
 * them as module folders (`--out`) and/or publishes them with a network composition (`--publish`).
 */
export function importCommand(parent: Command, ctx: CommandContext): Command {
  return parent
    .command('import')
    .description(
      'split a TensorFlow.js LayersModel (model.json + weights) into a category module and a task module',
    )
    .requiredOption(
      '--model <model.json>',
      'the model: model.json and its weight files (tensorflowjs_converter or `transplant export` layout)',
    )
    .requiredOption(
      '--split <layer>',
      'the layer whose output is the feature map between the modules (after a residual block, not inside one)',
    )
    .requiredOption('--category <category>', 'the category the category module is for, e.g. cat')
    .requiredOption('--task <task>', `the task the rest of the model solves: ${TASK_IDS.join(' | ')}`)
    .option(
      '--name <prefix>',
      'modules <prefix>-features and <prefix>-head, network <prefix> (default <category>-<task>-imported)',
    )
    .option('--version <semver>', 'version of the modules and the network', '1.0.0')
    .option('--out <dir>', 'write the two module folders (manifest.json + weights.bin) here')
    .option('--publish', 'publish both modules and the network composition to the registry')
    .option('--stride <n>', 'the feature map stride, when input side / feature side is not it')
    .option('--no-check', 'skip comparing the modules with the original model on random images')
    .action(async (o: ImportOptions) => {
      const { task, stride } = parseUsage(o);
      await selectCommandBackend(ctx);
      const path = resolve(o.model);
      const files = await readLayersModel(path);
      // The imported-* families must be among the plugins.
      const imported = importLayersModel(ctx.services().plugins, {
        model: files,
        split: o.split,
        category: o.category,
        task,
        ...(o.name ? { name: o.name } : {}),
        ...(stride !== undefined ? { stride } : {}),
      });
      try {
        const difference = o.check ? await check(files, imported, ctx) : null;
        const meta: PublishMeta = {
          version: o.version,
          generatedBy: ctx.services().generatedBy,
          provenance: {
            data: `imported from ${join(basename(dirname(path)), basename(path))}, split at ${o.split}`.slice(
              0,
              500,
            ),
            seed: 0,
            steps: 0,
            backend: tf.getBackend(),
          },
          card: {
            summary: `imported from a TensorFlow.js LayersModel; ${difference === null ? 'not checked' : `max difference to the original ${difference}`}`,
            metrics: [],
          },
        };
        const openRegistry = () => openCommandRegistry(ctx);
        ctx.out(...report(imported, o, { difference, ...(await deliver(imported, o, meta, openRegistry)) }));
      } finally {
        [imported.category, imported.task].forEach(disposeModule);
      }
    });
}
