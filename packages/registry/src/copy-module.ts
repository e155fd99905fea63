import { TransplantError, isTransplantError, type ModuleRef } from '@transplant/core';
import type { Registry } from './registry';

export interface CopyResult {
  /** `name@version` of every module copied, dependencies first. */
  readonly copied: readonly string[];
  /** Already present in the target with the same digests. */
  readonly present: readonly string[];
}

/**
 * Copies a module version and, first, everything it depends on from one registry to another
 * (push and pull are this, either way round). Bytes are verified on read and republished
 * unchanged, so digests are identical in both registries.
 */
export async function copyModule(from: Registry, to: Registry, ref: ModuleRef | string): Promise<CopyResult> {
  const copied: string[] = [];
  const present: string[] = [];
  const visit = async (reference: ModuleRef | string): Promise<void> => {
    const fetched = await from.manifest(reference);
    const id = `${fetched.resolved.name}@${fetched.resolved.version}`;
    if (copied.includes(id) || present.includes(id)) return;
    for (const dep of fetched.manifest.dependencies) {
      await visit(dep.pinned ? `${dep.name}@${dep.pinned.version}` : `${dep.name}@${dep.range}`);
    }
    const there = await to.resolve(id).catch((error: unknown) => {
      if (isTransplantError(error, 'E_MODULE_NOT_FOUND') || isTransplantError(error, 'E_VERSION_NOT_FOUND'))
        return undefined;
      throw error;
    });
    if (there) {
      if (there.entry.weightsDigest !== fetched.resolved.entry.weightsDigest)
        throw new TransplantError(
          'E_VERSION_EXISTS',
          `${id} is already published in ${to.store.location} with other weights (${there.entry.weightsDigest})`,
          { module: id, operation: 'copy' },
        );
      present.push(id);
      return;
    }
    // The weights stream from one store into the other (verified on the way), never held whole.
    const opened = await from.openWeights(fetched.resolved);
    try {
      await to.publish({ manifest: opened.manifest, weights: opened.weights });
      copied.push(id);
    } catch (error) {
      // Published by someone else meanwhile: the same bytes are as good as ours.
      if (!isTransplantError(error, 'E_VERSION_EXISTS')) throw error;
      if ((await to.resolve(id)).entry.weightsDigest !== fetched.resolved.entry.weightsDigest) throw error;
      present.push(id);
    }
  };
  await visit(ref);
  return { copied, present };
}
