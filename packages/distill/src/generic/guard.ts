import * as tf from '@tensorflow/tfjs';
import { linkId, type GenericRecord, type LinkSpec, type Network } from '@transplant/composer';
import { TransplantError, sha256Digest } from '@transplant/core';
import { CATEGORY_IDS, SyntheticSet, disposeBatch, renderBatch, type SampleCategory } from '@transplant/data';

/** The probe set every generic network is guarded with: seeded images of every category and backgrounds. */
export const GUARD_PROBE = { seed: 'generic-guard', count: 18 } as const;

function probeImages(size: number): tf.Tensor4D {
  const categories: SampleCategory[] = [...CATEGORY_IDS, 'background'];
  const set = new SyntheticSet({ seed: GUARD_PROBE.seed, size, categories: [...CATEGORY_IDS] });
  const refs = Array.from({ length: GUARD_PROBE.count }, (_, k) => ({
    split: 'test' as const,
    index: 0,
    category: categories[k % categories.length]!,
    seed: `${GUARD_PROBE.seed}:${k}`,
  }));
  const batch = renderBatch(set, refs, { mode: { kind: 'binary', category: CATEGORY_IDS[0]! } });
  const images = batch.images.clone();
  disposeBatch(batch);
  return images;
}

/** sha256 of every link's outputs on the probe set: bit-exact fingerprints of what each link computes. */
export function linkDigests(
  network: Network,
  links: readonly LinkSpec[] = network.links,
): Record<string, string> {
  // Probe images at each input size the links take (category modules may differ in size).
  const images = new Map<number, tf.Tensor4D>();
  try {
    return Object.fromEntries(
      links.map((link) => {
        const size = network.module(link.category).ports.input.shape[1]!;
        if (!images.has(size)) images.set(size, probeImages(size));
        const out = network.run(link.category, link.task, images.get(size)!);
        const bytes = new Uint8Array((out.dataSync() as Float32Array).slice().buffer);
        out.dispose();
        return [linkId(link), sha256Digest(bytes)];
      }),
    );
  } finally {
    tf.dispose([...images.values()]);
  }
}

/** Refuses (E_FORGETTING, naming every changed link) unless every link's outputs are bit-identical to `before`. */
export function assertNoForgetting(
  network: Network,
  before: Readonly<Record<string, string>>,
  name: string,
): string[] {
  const links = network.links.filter((l) => before[linkId(l)] !== undefined);
  const after = linkDigests(network, links);
  const changed = links.map(linkId).filter((id) => after[id] !== before[id]);
  if (changed.length > 0) {
    throw new TransplantError(
      'E_FORGETTING',
      `${changed.join('; ')}: the outputs on the probe images changed (${changed.map((id) => `${before[id]!.slice(0, 19)}… → ${after[id]!.slice(0, 19)}…`).join('; ')})`,
      {
        module: name,
        operation: 'guard',
        details: { changed, before, after },
      },
    );
  }
  return links.map(linkId);
}

/** What `assertReproducesRecord` compares: a loaded network, its record and the digests just taken. */
export interface RecordCheck {
  /** `name@version`, for the messages. */
  readonly reference: string;
  readonly name: string;
  readonly guard: GenericRecord['guard'];
  /** The digests of the network as loaded (`linkDigests`). */
  readonly digests: Readonly<Record<string, string>>;
  /** The backend running now. */
  readonly backend: string;
  readonly log?: (line: string) => void;
}

/**
 * Refuses (E_FORGETTING) a generic network that, as loaded, does not reproduce the outputs it
 * recorded when published — on the same backend only; digests taken on another backend are
 * not comparable bit for bit, so there the fresh digests become the reference (and it is logged).
 */
export function assertReproducesRecord(check: RecordCheck): void {
  const { reference, guard, digests, backend } = check;
  if (guard.backend !== backend) {
    check.log?.(
      `the guard digests of ${reference} were taken on ${guard.backend}; comparing with a fresh run on ${backend}`,
    );
    return;
  }
  const drifted = Object.keys(digests).filter((id) => guard.outputs[id] !== digests[id]);
  if (drifted.length > 0) {
    throw new TransplantError(
      'E_FORGETTING',
      `${drifted.join('; ')}: ${reference} as loaded does not reproduce its recorded outputs on ${backend}`,
      { module: check.name, operation: 'guard', details: { drifted } },
    );
  }
}
