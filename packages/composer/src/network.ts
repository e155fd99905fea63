import * as tf from '@tensorflow/tfjs';
import { TransplantError, type BuildableKind } from '@transplant/core';
import { checkLinkPorts, linkId, type LinkSpec } from './link-ports';
import { disposeModule, type ModuleInstance } from './module-instance';

function invalid(detail: string): TransplantError {
  return new TransplantError('E_COMPOSITION_INVALID', detail, { operation: 'compose' });
}

/**
 * A specific network (one category module, one task module, one link) or a generic one (N
 * category modules, M task modules, an adapter per enabled link). Modules are shared by the
 * links that use them: one set of weights, however many links.
 */
export class Network {
  private readonly models = new Map<string, tf.LayersModel>();
  private disposed = false;

  private constructor(
    readonly modules: ReadonlyMap<string, ModuleInstance>,
    readonly links: readonly LinkSpec[],
  ) {}

  /** Checks the composition (kinds, names, ports) and assembles it; modules are owned by the network from here on. */
  static create(modules: readonly ModuleInstance[], links: readonly LinkSpec[]): Network {
    const byName = new Map<string, ModuleInstance>();
    for (const m of modules) {
      if (byName.has(m.name)) throw invalid(`module "${m.name}" appears twice`);
      byName.set(m.name, m);
    }
    if (links.length === 0) throw invalid('a network has at least one link');
    const seen = new Set<string>();
    const kindOf = (name: string, kind: BuildableKind, link: LinkSpec): ModuleInstance => {
      const m = byName.get(name);
      if (!m)
        throw invalid(
          `link ${linkId(link)} names "${name}", which is not a module of the network (${[...byName.keys()].join(', ')})`,
        );
      if (m.kind !== kind)
        throw invalid(`link ${linkId(link)}: "${name}" is a ${m.kind} module, not a ${kind} module`);
      return m;
    };
    for (const link of links) {
      if (seen.has(linkId(link))) throw invalid(`link ${linkId(link)} appears twice`);
      seen.add(linkId(link));
      const chain = [
        kindOf(link.category, 'category', link),
        ...(link.adapter ? [kindOf(link.adapter, 'adapter', link)] : []),
        kindOf(link.task, 'task', link),
      ];
      checkLinkPorts(chain);
    }
    const used = new Set(links.flatMap((l) => [l.category, l.task, ...(l.adapter ? [l.adapter] : [])]));
    const unused = [...byName.keys()].filter((n) => !used.has(n));
    if (unused.length > 0) throw invalid(`modules ${unused.join(', ')} are on no link`);
    return new Network(byName, links);
  }

  module(name: string): ModuleInstance {
    const m = this.modules.get(name);
    if (!m) throw invalid(`no module "${name}" in this network (${[...this.modules.keys()].join(', ')})`);
    return m;
  }

  ofKind(kind: BuildableKind): ModuleInstance[] {
    return [...this.modules.values()].filter((m) => m.kind === kind);
  }

  findLink(category: string, task: string): LinkSpec {
    const link = this.links.find((l) => l.category === category && l.task === task);
    if (!link)
      throw invalid(`no link ${linkId({ category, task })}; links: ${this.links.map(linkId).join('; ')}`);
    return link;
  }

  /** The link as a standard LayersModel (image → task output), built once and cached. */
  model(category: string, task: string): tf.LayersModel {
    this.assertLive();
    const link = this.findLink(category, task);
    const id = linkId(link);
    let model = this.models.get(id);
    if (!model) {
      const chain = [
        this.module(link.category),
        ...(link.adapter ? [this.module(link.adapter)] : []),
        this.module(link.task),
      ];
      const input = tf.input({ shape: chain[0]!.ports.input.shape.slice(1) as number[], name: 'image' });
      const output = chain.reduce((x, m) => m.built.apply(x), input);
      model = tf.model({
        inputs: input,
        outputs: output,
        name: `${link.category}--${link.adapter ?? 'direct'}--${link.task}`,
      });
      this.models.set(id, model);
    }
    return model;
  }

  /** Runs one link on a batch of images (inference mode). The caller owns the result. */
  run(category: string, task: string, images: tf.Tensor4D): tf.Tensor {
    const model = this.model(category, task);
    return tf.tidy(() => model.predict(images) as tf.Tensor);
  }

  /** Freezes every module except the named ones; returns the variables left trainable. */
  setTrainable(names: readonly string[]): tf.LayerVariable[] {
    for (const name of names) this.module(name);
    for (const m of this.modules.values())
      for (const layer of m.built.layers) layer.trainable = names.includes(m.name);
    return names.flatMap((name) => this.module(name).built.layers.flatMap((layer) => layer.trainableWeights));
  }

  /** Frees every module's weights; the network cannot be used afterwards. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const m of this.modules.values()) disposeModule(m);
    this.models.clear();
  }

  private assertLive(): void {
    if (this.disposed) throw invalid('the network was disposed');
  }
}
