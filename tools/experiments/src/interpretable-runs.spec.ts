import * as tf from '@tensorflow/tfjs';
import { testPlugins } from '@transplant/platform/testing';
import { moduleWeights, partMaskLayers, selectBackend } from '@transplant/core';
import {
  experimentData,
  INTERPRETABLE_DEFAULTS,
  buildExperimentNetwork,
  cellGeometry,
  findLayer,
  interpretLayer,
  networkModules,
  partImages,
  renderFilterHeatmaps,
  trainExperimentNetwork,
} from '@transplant/interpretable';
import { CATEGORY_VS_REST_SEED_NAMES, SyntheticSet } from '@transplant/data';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import {
  INTERPRET_STREAMS,
  chooseLearningRate,
  formatInterpretableReport,
  referenceInstability,
  reportedCells,
  runKey,
  runOne,
  type RunResult,
} from './interpretable-runs';

beforeAll(async () => {
  await selectBackend({ requested: 'wasm', env: {} });
});

const quiet = (): void => undefined;
const tiny = { ...INTERPRETABLE_DEFAULTS, imageSize: 16, blocks: [[4], [8]], batchSize: 4, steps: 2 };

describe('interpretable networks', () => {
  it('trains an interpretable network without leaking tensors: only the modules move, β relaxes, the masked layer is measured', () => {
    const o = { ...tiny, categories: ['cat'] as const, mask: 'argmax' as const };
    const network = buildExperimentNetwork(testPlugins(), 't', o);
    const names = networkModules('t');
    const link = { category: names.category, task: names.task };
    const mask = partMaskLayers(network.module(names.category).built.layers)[0]!;
    const before = tf.memory().numTensors;
    const kernel = moduleWeights(network.module(names.category).built, network.module(names.category).prefix)
      ['block2_conv1/kernel']!.dataSync()
      .slice();
    const result = trainExperimentNetwork(
      { network, name: 't', data: experimentData({ categories: ['cat'], seed: 1, size: 16 }), log: quiet },
      o,
    );
    expect(tf.memory().numTensors).toBe(before);
    expect(result.curve.at(-1)!.step).toBe(2);
    const after = moduleWeights(network.module(names.category).built, network.module(names.category).prefix);
    expect(after['block2_conv1/kernel']!.dataSync()).not.toEqual(kernel);
    expect(Array.from(mask.beta.read().dataSync()).some((b) => b !== 2)).toBe(true);

    // The top conv layer sits at stride 2 (one pool), cells centred at 2u + 1.
    const geometry = cellGeometry(findLayer(network, link, 'block2_conv1_mask'));
    expect(geometry).toEqual({ scale: 2, offset: 1, mapSize: [8, 8], imageSize: [16, 16] });
    expect(() => findLayer(network, link, 'hidden')).toThrow(/does not output a feature map/);
    expect(() => findLayer(network, link, 'nope')).toThrow(/no layer "nope"/);

    const images = partImages('cat', { count: 6, size: 16 });
    const countBefore = tf.memory().numTensors;
    const interp = interpretLayer({ network, link }, { layer: 'block2_conv1_mask', images, topN: 3 });
    expect(tf.memory().numTensors).toBe(countBefore);
    expect(interp.filters).toBe(8);
    expect(interp.images).toBe(6);
    expect(interp.interpretability.perFilter).toHaveLength(8);
    const png = renderFilterHeatmaps(interp, images, { filters: 2, images: 2 });
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    network.dispose();
  });

  it('the exact filter loss trains too (multi-category, softmax head); a run without final reads dev only, never a final-test image', async () => {
    const o = { ...tiny, filterLoss: 'exact' as const };
    const rendered = vi.spyOn(SyntheticSet.prototype, 'render');
    const spec = {
      categories: ['cat', 'dog'] as const,
      kind: 'interpretable' as const,
      seed: 2,
      learningRate: 1e-3,
    };
    const options = {
      plugins: testPlugins(),
      training: o,
      mask: 'centroid' as const,
      images: 4,
      testPerClass: 2,
      heatmap: null,
      log: quiet,
    };
    const result = await runOne(spec, { ...options, final: false });
    const seeds = rendered.mock.calls.map(([ref]) => ref.seed);
    rendered.mockClear();
    // The final-test streams: the category-vs-rest test split and the final part crops.
    const finalStream = (seed: string) =>
      seed.startsWith(`icnn-2:${CATEGORY_VS_REST_SEED_NAMES.test}:`) ||
      seed.startsWith(`${INTERPRET_STREAMS.final}:`);
    expect(seeds.some((s) => s.startsWith(`icnn-2:${CATEGORY_VS_REST_SEED_NAMES.dev}:`))).toBe(true);
    expect(seeds.some((s) => s.startsWith(`${INTERPRET_STREAMS.dev}:`))).toBe(true);
    expect(seeds.filter(finalStream)).toEqual([]);
    expect(result.final).toBeUndefined();
    expect(result.key).toBe('multi-cat-dog-interpretable-s2-lr1e-3');
    // Two positives per category and two backgrounds; the error is a count of them.
    expect(result.dev.images).toBe(6);
    expect(Number.isInteger(Math.round(result.dev.error * 6 * 1e9) / 1e9)).toBe(true);
    expect(result.dev.partStream).toBe(INTERPRET_STREAMS.dev);
    expect(Object.keys(result.dev.perCategory)).toEqual(['cat', 'dog']);
    expect(result.dev.perCategory['cat']!.consumed.layer).toBe('block2_conv1_mask');
    expect(result.dev.perCategory['cat']!.beforeMask!.layer).toBe('block2_conv1');
    expect(Object.values(result.assignment!).reduce((s, n) => s + n, 0)).toBe(8);

    // The final run reads the final streams (so the spy above could have seen them).
    const final = await runOne(spec, { ...options, final: true });
    expect(rendered.mock.calls.map(([ref]) => ref.seed).filter(finalStream).length).toBeGreaterThan(0);
    rendered.mockRestore();
    expect(final.final!.split).toBe('test');
    expect(final.final!.partStream).toBe(INTERPRET_STREAMS.final);
    // The same seed trains the same network: its dev numbers repeat.
    expect(final.dev.error).toBe(result.dev.error);
    expect(final.dev.instability).toBe(result.dev.instability);
  });

  it('the learning rate is chosen on dev error, ties broken by dev loss; the report says dev or final, with n, intervals and paired p', () => {
    const run = (
      kind: 'ordinary' | 'interpretable',
      seed: number,
      learningRate: number,
      dev: { error: number; loss: number; instability: number },
      final?: { error: number; instability: number },
    ): RunResult => {
      const numbers = (split: 'dev' | 'test', n: { error: number; instability: number; loss?: number }) => ({
        split,
        error: n.error,
        loss: n.loss ?? 0.1,
        images: 200,
        partImages: 100,
        partStream: split === 'dev' ? INTERPRET_STREAMS.dev : INTERPRET_STREAMS.final,
        perCategory: {
          cat: {
            consumed: {
              layer: 'block4_conv1',
              instability: n.instability,
              active: 60,
              instabilityAll: n.instability,
              interpretability: 0.01,
              silent: 0,
            },
          },
        },
        instability: n.instability,
        instabilityAll: n.instability,
        interpretability: 0.01,
      });
      return {
        key: runKey({ categories: ['cat'], kind, seed, learningRate }),
        categories: ['cat'],
        kind,
        seed,
        learningRate,
        steps: 10,
        wallSeconds: 1,
        cpuSeconds: 1,
        backend: 'wasm',
        dev: numbers('dev', dev),
        ...(final ? { final: numbers('test', final) } : {}),
        settings: { mask: kind === 'ordinary' ? 'none' : 'argmax', strength: 0.01, steps: 10 },
      };
    };
    const grid = [1e-3, 3e-3];
    // Tuning seed 1: the ordinary network ties on error and wins on loss at 3e-3; the interpretable one is better at 1e-3.
    const results = [
      run('ordinary', 1, 1e-3, { error: 0.02, loss: 0.09, instability: 0.13 }),
      run(
        'ordinary',
        1,
        3e-3,
        { error: 0.02, loss: 0.05, instability: 0.12 },
        { error: 0.02, instability: 0.12 },
      ),
      run(
        'ordinary',
        2,
        3e-3,
        { error: 0.03, loss: 0.05, instability: 0.13 },
        { error: 0.03, instability: 0.13 },
      ),
      run(
        'ordinary',
        3,
        3e-3,
        { error: 0.01, loss: 0.05, instability: 0.14 },
        { error: 0.01, instability: 0.15 },
      ),
      run(
        'interpretable',
        1,
        1e-3,
        { error: 0.01, loss: 0.2, instability: 0.1 },
        { error: 0.03, instability: 0.1 },
      ),
      // A diverged run: no filter fires, its instability is NaN (null once written to JSON).
      run('interpretable', 1, 3e-3, { error: 0.5, loss: 0.7, instability: NaN }),
      run(
        'interpretable',
        2,
        1e-3,
        { error: 0.02, loss: 0.2, instability: 0.11 },
        { error: 0.04, instability: 0.11 },
      ),
      run(
        'interpretable',
        3,
        1e-3,
        { error: 0.02, loss: 0.2, instability: 0.12 },
        { error: 0.02, instability: 0.13 },
      ),
    ];
    expect(
      chooseLearningRate(
        results.filter((r) => r.kind === 'ordinary' && r.seed === 1),
        grid,
      )!.learningRate,
    ).toBe(3e-3);
    expect(
      chooseLearningRate(
        results.filter((r) => r.kind === 'interpretable' && r.seed === 1),
        grid,
      )!.learningRate,
    ).toBe(1e-3);
    expect(chooseLearningRate(results.slice(0, 1), grid)).toBeNull();
    const stored = JSON.parse(JSON.stringify(results)) as RunResult[];
    const cells = reportedCells(stored, grid, [1, 2, 3]);
    expect(cells.map((c) => `${c.kind} ${c.learningRate} ${c.runs.map((r) => r.seed).join('')}`)).toEqual([
      'ordinary 0.003 123',
      'interpretable 0.001 123',
    ]);
    const meta = {
      grid,
      seeds: [1, 2, 3],
      backend: 'wasm',
      machine: 'X, 2 cores, avx',
      command: 'c',
      pictures: ['interpretable/x.png'],
      references: { cat: { partDetector: 0.03, random: 0.11 } },
    };
    const dev = formatInterpretableReport(stored, { ...meta, final: false });
    expect(dev).toContain('| single-cat | interpretable | 0.003 | 50.0 | 0.7000 | – |  |');
    expect(dev).toContain('dev numbers, not the final test');
    // Ordinary dev instability over seeds 0.12, 0.13, 0.14: mean 0.130, half-width 4.303 · 0.01 / √3.
    expect(dev).toContain('| single-cat | ordinary | 0.003 | 3 | 2.0 [-0.5, 4.5] | 0.130 [0.105, 0.155] |');
    // Interpretable 0.10, 0.11, 0.12 against 0.12, 0.13, 0.14: the same −0.02 every seed (p 0); errors
    // 1, 2, 2 against 2, 3, 1 %: differences −1, −1, +1, t = −0.5 on 2 df, p = 1 − 0.5/√2.25.
    expect(dev).toContain(
      '| single-cat | 3 | −0.3 (p 0.67) | −15 % (p < 0.001) | −15 % (p < 0.001) | +0.000 (p 1.0) |',
    );
    expect(dev).toContain(
      "- single-cat: the interpretable layer's instability is lower than the ordinary layer's (−15 %, paired t test p < 0.001, n = 3); the interpretable network's error and the ordinary network's do not differ detectably (−0.3 points, paired t test p 0.67, n = 3);",
    );
    expect(dev).toContain('![interpretable/x.png]');
    const final = formatInterpretableReport(results, { ...meta, final: true });
    expect(final).toContain(': final test');
    expect(final).toContain('| single-cat | ordinary | 0.003 | 3 | 2.0 [-0.5, 4.5] | 0.133 [0.095, 0.171] |');
  });

  it('a filter at a part centre is far more stable than one at random cells', () => {
    const r = referenceInstability('cat', { images: 40, crop: false });
    expect(r.partDetector).toBeLessThan(r.random / 2);
    // The landmark detectors' mean; a tail detector, scored against the landmarks, sits above them and far below a random cell.
    expect(r.partDetector).toBeCloseTo((r.perPart.head! + r.perPart.neck! + r.perPart.torso!) / 3, 12);
    expect(r.perPart.tail).toBeGreaterThan(Math.max(r.perPart.head!, r.perPart.neck!, r.perPart.torso!));
    expect(r.perPart.tail).toBeLessThan(r.random / 2);
    expect(r.perPart.beak).toBeUndefined();
  });
});
