import * as tf from '@tensorflow/tfjs';
import type { Composer, LinkRefs } from './composer';
import type { LinkSpec } from './link-ports';
import { publishNetwork } from './publish';

export interface ComposeNetworkOptions {
  readonly composer: Composer;
  /** The network name and the version to publish. */
  readonly name: string;
  readonly version: string;
  /** Module references per link; more than one makes a generic network. */
  readonly links: readonly LinkRefs[];
  readonly generatedBy: string;
  /** The card's one-line summary. */
  readonly summary: string;
}

/**
 * Builds a network from module references (the composer checks every link's ports) and
 * publishes it as a composition; nothing is trained. The network is disposed afterwards.
 */
export async function composeNetwork(
  options: ComposeNetworkOptions,
): Promise<{ name: string; version: string; links: readonly LinkSpec[] }> {
  const network = await options.composer.compose(options.links);
  try {
    const published = await publishNetwork(options.composer.registry, network, {
      name: options.name,
      version: options.version,
      generatedBy: options.generatedBy,
      provenance: { data: 'composed from published modules', seed: 0, steps: 0, backend: tf.getBackend() },
      card: { summary: options.summary, metrics: [] },
    });
    return { ...published, links: network.links };
  } finally {
    network.dispose();
  }
}
