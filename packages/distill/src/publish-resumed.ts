import {
  moduleArtifact,
  publishModule,
  publishNetwork,
  type ModuleInstance,
  type Network,
  type PublishMeta,
} from '@transplant/composer';
import { isTransplantError, type RunFolder } from '@transplant/core';
import type { Registry } from '@transplant/registry';
import semver from 'semver';

/**
 * The next minor version free for every one of `names` (they are published together, e.g.
 * an adapter and its network): one above the highest any of them has; 1.0.0 for new names.
 */
export async function nextFreeVersion(registry: Registry, names: readonly string[]): Promise<string> {
  const versions: string[] = [];
  for (const name of names) {
    try {
      versions.push(...Object.keys((await registry.index(name)).versions));
    } catch (error) {
      if (!isTransplantError(error, 'E_MODULE_NOT_FOUND')) throw error;
    }
  }
  return versions.length === 0 ? '1.0.0' : semver.inc(semver.rsort(versions)[0]!, 'minor')!;
}

/**
 * Publishes a module; when `resumed` (the run recorded this version before it was killed)
 * and the version exists with these very weights, that version is this publish: the module
 * takes its identity. Anything else that exists is E_VERSION_EXISTS as usual.
 */
export async function publishModuleOnce(
  registry: Registry,
  instance: ModuleInstance,
  meta: PublishMeta,
  resumed: boolean,
): Promise<void> {
  try {
    await publishModule(registry, instance, meta);
  } catch (error) {
    if (!resumed || !isTransplantError(error, 'E_VERSION_EXISTS')) throw error;
    const ours = moduleArtifact(instance, meta).manifest.weights.digest;
    const { manifest } = await registry.manifest(`${instance.name}@${meta.version}`);
    if (manifest.weights.digest !== ours) throw error;
    instance.published = { version: meta.version, digest: ours, manifest };
  }
}

/** `publishModuleOnce` for a network: an existing version counts as this one when it pins the same modules. */
export async function publishNetworkOnce(
  registry: Registry,
  network: Network,
  meta: Parameters<typeof publishNetwork>[2],
  resumed: boolean,
): Promise<void> {
  try {
    await publishNetwork(registry, network, meta);
  } catch (error) {
    if (!resumed || !isTransplantError(error, 'E_VERSION_EXISTS')) throw error;
    const { manifest } = await registry.manifest(`${meta.name}@${meta.version}`);
    const pins = (list: readonly { name: string; pinned?: { digest: string } }[]) =>
      list
        .map((d) => `${d.name}=${d.pinned?.digest ?? ''}`)
        .sort()
        .join();
    const ours = [...network.modules.values()].map((m) => ({
      name: m.name,
      pinned: { digest: m.published?.digest ?? '' },
    }));
    if (pins(manifest.dependencies ?? []) !== pins(ours)) throw error;
  }
}

/**
 * Publishes modules that go out together (an adapter and its network) at one version: the
 * next free one, or the one a killed run recorded in `run` (`publish` is then told it resumes,
 * and adopts what is already there when it is the same). When another writer takes the version
 * first (E_VERSION_EXISTS), the next free one is tried, at most `attempts` times.
 */
export async function publishAtFreeVersion(
  registry: Registry,
  job: {
    readonly names: readonly string[];
    readonly run: RunFolder | undefined;
    readonly publish: (version: string, resumed: boolean) => Promise<void>;
    readonly attempts?: number;
  },
): Promise<string> {
  const recorded = job.run?.read<{ version: string }>('publish')?.version;
  let version = recorded ?? (await nextFreeVersion(registry, job.names));
  for (let attempt = 1; ; attempt++) {
    job.run?.write('publish', { version });
    try {
      await job.publish(version, version === recorded);
      return version;
    } catch (error) {
      if (!isTransplantError(error, 'E_VERSION_EXISTS') || attempt >= (job.attempts ?? 20)) throw error;
      version = await nextFreeVersion(registry, job.names);
    }
  }
}
