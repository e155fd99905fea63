import { TransplantError, type ModuleManifest } from '@transplant/core';
import type { Lockfile, Registry } from '@transplant/registry';
import { checkLinkPorts, type LinkSpec } from './link-ports';
import { disposeModule, moduleFromManifest, type ModuleInstance } from './module-instance';
import { Network } from './network';
import { parseComposition } from './composition';
import type { PluginRegistry } from './plugin-registry';

/** A link by module references (`cat-seg-features@^1`, `bird-cls-head@1.0.0`). */
export interface LinkRefs {
  readonly category: string;
  readonly task: string;
  readonly adapter?: string;
}

type Manifests = Map<
  string,
  { manifest: ModuleManifest; resolved: Awaited<ReturnType<Registry['manifest']>>['resolved'] }
>;

/**
 * Assembles networks from registry references: resolves every module, checks kinds and
 * ports on the manifests, and only then fetches (and verifies) the weights.
 */
export class Composer {
  constructor(
    readonly registry: Registry,
    readonly plugins: PluginRegistry,
  ) {}

  /** A network from module references; a specific network is one link without an adapter. */
  async compose(links: readonly LinkRefs[], lockfile?: Lockfile): Promise<Network> {
    const manifests: Manifests = new Map();
    const names: LinkSpec[] = [];
    for (const link of links) {
      const name = async (ref: string) => {
        const found = await this.registry.manifest(ref, lockfile);
        const other = manifests.get(found.manifest.name);
        if (other && other.manifest.version !== found.manifest.version) {
          throw new TransplantError(
            'E_COMPOSITION_INVALID',
            `${found.manifest.name} is asked for at ${other.manifest.version} and at ${found.manifest.version}; a network holds one version of a module`,
            { module: found.manifest.name, operation: 'compose' },
          );
        }
        manifests.set(found.manifest.name, { manifest: found.manifest, resolved: found.resolved });
        return found.manifest.name;
      };
      const category = await name(link.category);
      const adapter = link.adapter ? await name(link.adapter) : undefined;
      names.push({ category, task: await name(link.task), ...(adapter ? { adapter } : {}) });
    }
    return this.assemble(manifests, names);
  }

  /** A published network (kind `network`), with every module at the exact version and digest it pins. */
  async load(
    reference: string,
    lockfile?: Lockfile,
  ): Promise<{ network: Network; manifest: ModuleManifest }> {
    const { manifest } = await this.registry.manifest(reference, lockfile);
    if (manifest.kind !== 'network') {
      throw new TransplantError(
        'E_COMPOSITION_INVALID',
        `${manifest.name}@${manifest.version} is a ${manifest.kind} module, not a network`,
        { module: manifest.name, operation: 'load' },
      );
    }
    const links = parseComposition(manifest.options, `${manifest.name}@${manifest.version}`);
    const manifests: Manifests = new Map();
    for (const dep of manifest.dependencies) {
      const found = await this.registry.manifest(`${dep.name}@${dep.pinned!.version}`);
      if (found.manifest.weights.digest !== dep.pinned!.digest) {
        throw new TransplantError(
          'E_DIGEST_MISMATCH',
          `${dep.name}@${dep.pinned!.version} has weights ${found.manifest.weights.digest}; the network pins ${dep.pinned!.digest}`,
          {
            module: `${manifest.name}@${manifest.version}`,
            operation: 'load',
          },
        );
      }
      manifests.set(dep.name, { manifest: found.manifest, resolved: found.resolved });
    }
    return { network: await this.assemble(manifests, links), manifest };
  }

  private async assemble(manifests: Manifests, links: readonly LinkSpec[]): Promise<Network> {
    for (const link of links) {
      const slots = [
        ['category', link.category],
        ...(link.adapter ? [['adapter', link.adapter]] : []),
        ['task', link.task],
      ] as const;
      const chain = slots.map(([kind, name]) => {
        const found = manifests.get(name);
        if (!found)
          throw new TransplantError(
            'E_COMPOSITION_INVALID',
            `link names "${name}", which the network does not pin`,
            { operation: 'compose' },
          );
        if (found.manifest.kind !== kind) {
          throw new TransplantError(
            'E_COMPOSITION_INVALID',
            `"${name}" is a ${found.manifest.kind} module; the link needs ${kind === 'adapter' ? 'an' : 'a'} ${kind} module there`,
            { module: name, operation: 'compose' },
          );
        }
        return { name: `${name}@${found.manifest.version}`, ports: found.manifest.ports };
      });
      checkLinkPorts(chain);
    }
    const modules: ModuleInstance[] = [];
    try {
      for (const { resolved } of manifests.values()) {
        const fetched = await this.registry.fetch(resolved);
        modules.push(moduleFromManifest(this.plugins, fetched.manifest, fetched.weights));
      }
      return Network.create(modules, links);
    } catch (error) {
      modules.forEach(disposeModule);
      throw error;
    }
  }
}
