import {
  MANIFEST_FORMAT_VERSION,
  TransplantError,
  encodeWeights,
  type CardDto,
  type DependencyDto,
  type ModuleManifestDto,
  type ProvenanceDto,
} from '@transplant/core';
import type { Registry } from '@transplant/registry';
import { sha256Digest } from '@transplant/core';
import { COMPOSITION_FAMILY, type GenericRecord } from './composition';
import { encodeModuleWeights, type ModuleInstance, type PublishedIdentity } from './module-instance';
import type { Network } from './network';

export interface PublishMeta {
  readonly version: string;
  readonly generatedBy: string;
  readonly provenance: Omit<ProvenanceDto, 'createdAt'> & { readonly createdAt?: string };
  readonly card: CardDto;
  /** Adapters pin the exact category and task modules they were trained between. */
  readonly dependencies?: readonly DependencyDto[];
}

function provenance(meta: PublishMeta): ProvenanceDto {
  return { ...meta.provenance, createdAt: meta.provenance.createdAt ?? new Date().toISOString() };
}

/** The manifest and weights blob of a module instance, as `publish` takes them. */
export function moduleArtifact(
  instance: ModuleInstance,
  meta: PublishMeta,
): { manifest: ModuleManifestDto; weights: Uint8Array } {
  const weights = encodeModuleWeights(instance, meta.generatedBy);
  const manifest: ModuleManifestDto = {
    formatVersion: MANIFEST_FORMAT_VERSION,
    generatedBy: meta.generatedBy,
    kind: instance.kind,
    name: instance.name,
    version: meta.version,
    ...(instance.task !== undefined ? { task: instance.task } : {}),
    ...(instance.category !== undefined ? { category: instance.category } : {}),
    family: { name: instance.plugin.family, version: instance.plugin.version },
    options: instance.options as Record<string, unknown>,
    ports: instance.ports,
    dependencies: [...(meta.dependencies ?? [])],
    weights: {
      digest: sha256Digest(weights.blob),
      size: weights.blob.byteLength,
      tensors: weights.tensors,
      parameters: weights.parameters,
    },
    provenance: provenance(meta),
    card: meta.card,
  };
  return { manifest, weights: weights.blob };
}

/** Publishes a module; on success the instance carries its published identity. */
export async function publishModule(
  registry: Registry,
  instance: ModuleInstance,
  meta: PublishMeta,
): Promise<PublishedIdentity> {
  const artifact = moduleArtifact(instance, meta);
  await registry.publish(artifact);
  const { manifest } = await registry.manifest(`${instance.name}@${meta.version}`);
  instance.published = { version: meta.version, digest: manifest.weights.digest, manifest };
  return instance.published;
}

/**
 * Publishes a network as a composition manifest: its links, and a dependency pinning every
 * module by version and weights digest. Every module must be published first. A network's
 * ports are those of its first link.
 */
export async function publishNetwork(
  registry: Registry,
  network: Network,
  meta: PublishMeta & { readonly name: string; readonly generic?: GenericRecord },
): Promise<{ name: string; version: string }> {
  const dependencies: DependencyDto[] = [...network.modules.values()].map((m) => {
    if (!m.published)
      throw new TransplantError(
        'E_COMPOSITION_INVALID',
        `publish module ${m.name} before the network that uses it`,
        { module: meta.name, operation: 'publishNetwork' },
      );
    return {
      name: m.name,
      kind: m.kind,
      range: m.published.version,
      pinned: { version: m.published.version, digest: m.published.digest },
    };
  });
  const first = network.links[0]!;
  const category = network.module(first.category);
  const task = network.module(first.task);
  const weights = encodeWeights([], { generatedBy: meta.generatedBy });
  const specific = network.links.length === 1;
  const manifest: ModuleManifestDto = {
    formatVersion: MANIFEST_FORMAT_VERSION,
    generatedBy: meta.generatedBy,
    kind: 'network',
    name: meta.name,
    version: meta.version,
    ...(specific && task.task !== undefined ? { task: task.task } : {}),
    ...(specific && category.category !== undefined ? { category: category.category } : {}),
    family: { ...COMPOSITION_FAMILY },
    options: {
      links: network.links.map((l) => ({ ...l })),
      ...(meta.generic ? { generic: meta.generic } : {}),
    },
    ports: { input: category.ports.input, output: task.ports.output },
    dependencies,
    weights: { digest: sha256Digest(weights), size: weights.byteLength, tensors: 0, parameters: 0 },
    provenance: provenance(meta),
    card: meta.card,
  };
  await registry.publish({ manifest, weights });
  return { name: meta.name, version: meta.version };
}
