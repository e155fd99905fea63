import { Network, createModule, publishModule, publishNetwork } from '@transplant/composer';
import { FolderStore, Registry } from '@transplant/registry';
import { testPlugins } from '@transplant/platform/testing';
import { runCli } from '../program';

/** Runs the CLI on the wasm back end against a registry folder; collects what it prints. */
export function cliRunner(
  registry: () => string,
): (...argv: string[]) => Promise<{ code: number; stdout: string; stderr: string }> {
  return async (...argv) => {
    let stdout = '';
    let stderr = '';
    const code = await runCli(['--backend', 'wasm', '--registry', registry(), ...argv], {
      stdout: (t) => (stdout += t),
      stderr: (t) => (stderr += t),
      env: {},
    });
    return { code, stdout, stderr };
  };
}

export interface TinyClassifier {
  /** Network name; its modules are NAME-features and NAME-head. */
  readonly name: string;
  readonly category: string;
  readonly mask?: 'argmax' | 'centroid';
  /** Conv layers of the head (an explainer reconstructs the first). */
  readonly headConvs?: number[];
}

/** Publishes 16-pixel classifiers (category-vgg [[4], [8]] → task-cls) at 1.0.0 into a folder registry, for CLI tests. */
export async function publishTinyClassifiers(
  location: string,
  classifiers: readonly TinyClassifier[],
): Promise<void> {
  const registry = new Registry(new FolderStore(location));
  const plugins = testPlugins();
  const meta = {
    version: '1.0.0',
    generatedBy: 'transplant/0.1.0',
    provenance: { data: 'test', seed: 1, steps: 0, backend: 'wasm' },
    card: { metrics: [] },
  };
  for (const c of classifiers) {
    const features = createModule(plugins, {
      name: `${c.name}-features`,
      family: 'category-vgg',
      options: { inputSize: 16, blocks: [[4], [8]], ...(c.mask ? { mask: c.mask } : {}) },
      seed: 1,
      category: c.category,
    });
    const head = createModule(plugins, {
      name: `${c.name}-head`,
      family: 'task-cls',
      options: { inputSize: 8, inputChannels: 8, inputStride: 2, convs: c.headConvs ?? [], hidden: 4 },
      seed: 2,
    });
    const network = Network.create([features, head], [{ category: features.name, task: head.name }]);
    await publishModule(registry, features, meta);
    await publishModule(registry, head, meta);
    await publishNetwork(registry, network, { ...meta, name: c.name });
    network.dispose();
  }
}

/**
 * Publishes a cls and a seg network per category at 1.0.0 (16-pixel images, category-vgg
 * [[4], [8]] → an 8×8×8 map at stride 2 → task-cls or task-seg): `<category>-cls`, `<category>-seg`,
 * into a folder registry (its path) or any registry.
 */
export async function publishTinySpecifics(
  location: string | Registry,
  categories: readonly string[],
  backend: string,
): Promise<void> {
  const registry = typeof location === 'string' ? new Registry(new FolderStore(location)) : location;
  const plugins = testPlugins();
  const map = { inputSize: 8, inputChannels: 8, inputStride: 2 };
  let seed = 1;
  for (const category of categories) {
    for (const [task, family, options] of [
      ['cls', 'task-cls', { ...map, convs: [], hidden: 4 }],
      ['seg', 'task-seg', { ...map, widths: [8, 4] }],
    ] as const) {
      const f = createModule(plugins, {
        name: `${category}-${task}-features`,
        family: 'category-vgg',
        options: { inputSize: 16, blocks: [[4], [8]] },
        seed: seed++,
        category,
      });
      const g = createModule(plugins, { name: `${category}-${task}-head`, family, options, seed: seed++ });
      const network = Network.create([f, g], [{ category: f.name, task: g.name }]);
      const meta = {
        version: '1.0.0',
        generatedBy: 'transplant/0.1.0',
        provenance: { data: 'test', seed: 1, steps: 0, backend },
        card: { metrics: [{ name: task === 'cls' ? 'error-rate' : 'iou', value: 0.25, on: 'test' }] },
      };
      await publishModule(registry, f, meta);
      await publishModule(registry, g, meta);
      await publishNetwork(registry, network, { ...meta, name: `${category}-${task}` });
      network.dispose();
    }
  }
}
