import { Network, createModule, publishModule, publishNetwork } from '@transplant/composer';
import { FolderStore, Registry } from '@transplant/registry';
import { testPlugins } from '@transplant/platform/testing';

/** Publishes tiny cat-cls and dog-cls networks (16×16 images, an 8×8×8 map) into a folder registry at `dir`. */
export async function publishTinyZoo(dir: string): Promise<void> {
  const store = new Registry(new FolderStore(dir));
  const plugins = testPlugins();
  let seed = 1;
  for (const category of ['cat', 'dog']) {
    const f = createModule(plugins, {
      name: `${category}-cls-features`,
      family: 'category-vgg',
      options: { inputSize: 16, blocks: [[4], [8]] },
      seed: seed++,
      category,
    });
    const g = createModule(plugins, {
      name: `${category}-cls-head`,
      family: 'task-cls',
      options: { inputSize: 8, inputChannels: 8, inputStride: 2, convs: [], hidden: 4 },
      seed: seed++,
    });
    const network = Network.create([f, g], [{ category: f.name, task: g.name }]);
    const meta = {
      version: '1.0.0',
      generatedBy: 'transplant/0.1.0',
      provenance: { data: 'test', seed: 1, steps: 0, backend: 'cpu' },
      card: { metrics: [] },
    };
    await publishModule(store, f, meta);
    await publishModule(store, g, meta);
    await publishNetwork(store, network, { ...meta, name: `${category}-cls` });
    network.dispose();
  }
}
