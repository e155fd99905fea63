import { testPlugins } from '@transplant/platform/testing';
import { selectBackend } from '@transplant/core';
import {
  INTERPRETABLE_DEFAULTS,
  buildExperimentNetwork,
  experimentData,
  interpretLayer,
  networkModules,
  partImages,
  trainExperimentNetwork,
  type InterpretableNetworkOptions,
} from '@transplant/interpretable';
import { beforeAll, describe, expect, it } from 'vitest';

beforeAll(async () => {
  await selectBackend({ requested: 'wasm', env: {} });
});

/**
 * The interpretable experiment's claim at reduced size (32-pixel scenes, two conv blocks, 150
 * steps, seed 1): the same network with its top conv layer interpretable has a lower location
 * instability than the ordinary one, on held-out images whose part centres are known by
 * construction. Measured: ordinary 0.134, interpretable 0.113 (seed 2: 0.140, 0.114); with the
 * filter loss off (strength 0) the masked network is at 0.138 (seed 2: 0.132), so the drop is the
 * filter loss's, and this test fails without it.
 */
function instability(mask: 'none' | 'argmax', strength: number): number {
  const options: InterpretableNetworkOptions = {
    ...INTERPRETABLE_DEFAULTS,
    categories: ['cat'],
    mask,
    strength,
    imageSize: 32,
    blocks: [[8], [16]],
    batchSize: 16,
    steps: 150,
    seed: 1,
  };
  const network = buildExperimentNetwork(testPlugins(), 'claim', options);
  const { category, task } = networkModules('claim');
  try {
    trainExperimentNetwork(
      {
        network,
        name: 'claim',
        data: experimentData({ categories: ['cat'], seed: 1, size: 32 }),
        log: () => undefined,
      },
      options,
    );
    const layer = mask === 'none' ? 'block2_conv1' : 'block2_conv1_mask';
    const images = partImages('cat', { count: 40, size: 32 });
    return interpretLayer({ network, link: { category, task } }, { layer, images }).instability.mean;
  } finally {
    network.dispose();
  }
}

describe('the interpretable experiment’s claim, reduced', () => {
  it('an interpretable top layer lowers location instability by over 10 % (cat, 32 px, 150 steps, seed 1)', () => {
    const ordinary = instability('none', INTERPRETABLE_DEFAULTS.strength);
    const interpretable = instability('argmax', INTERPRETABLE_DEFAULTS.strength);
    expect(interpretable).toBeLessThan(0.9 * ordinary);
  }, 300_000);
});
