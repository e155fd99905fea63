import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '@transplant/core';
import { SampleRenderer, partLabel, type RenderedSample } from '@transplant/data';
import { beforeAll, describe, expect, it } from 'vitest';
import { TEXTURE_RULE, assignGroups, explain, talkShares, textureChance } from './explain';
import { formatExplainReport, talkLine, type ExplainReport } from './explain-report';
import { Explainer, type Performer } from './explainer';

beforeAll(async () => {
  await selectBackend({ requested: 'wasm', env: {} });
});

const SIZE = 64;
const CELL = 8;
const GRID = SIZE / CELL;
const geometry = { scale: CELL, offset: CELL / 2, mapSize: [GRID, GRID], imageSize: [SIZE, SIZE] } as const;

/** Cats (striped about half the time) and cows (spotted more often than not). */
const samples: RenderedSample[] = (() => {
  const r = new SampleRenderer(SIZE);
  return [
    ...Array.from({ length: 40 }, (_, i) => r.render('cat', `texture-explain-${i}`)),
    ...Array.from({ length: 8 }, (_, i) => r.render('cow', `texture-explain-${i}`)),
  ];
})();

/**
 * Planted maps [N, 8, 8, 4], one value per cell from its 8×8 patch: 0 fires on stripe marks (the
 * painted stripes, whatever part they are on), 1 on the torso (striped or not), 2 on the head,
 * 3 on background.
 */
function plantedMaps(of: readonly RenderedSample[]): Float32Array {
  const out = new Float32Array(of.length * GRID * GRID * 4);
  of.forEach((s, n) => {
    const t = s.textures;
    for (let q = 0; q < GRID * GRID; q++) {
      const counts: [number, number, number, number] = [0, 0, 0, 0];
      for (let y = 0; y < CELL; y++)
        for (let x = 0; x < CELL; x++) {
          const p = (Math.floor(q / GRID) * CELL + y) * SIZE + (q % GRID) * CELL + x;
          const region = t?.regions[p] ?? 0;
          if (t && region > 0 && t.marks[p] && t.list[region - 1]!.kind === 'stripes') counts[0]++;
          if (s.labels[p] === partLabel('torso')) counts[1]++;
          if (s.labels[p] === partLabel('head')) counts[2]++;
          if (s.labels[p] === 0) counts[3]++;
        }
      counts.forEach((c, k) => (out[(n * GRID * GRID + q) * 4 + k] = c / (CELL * CELL)));
    }
  });
  return out;
}

const withoutTextures = (of: readonly RenderedSample[]) =>
  of.map((s) => {
    const { textures: _t, ...bare } = s;
    return bare;
  });

describe('texture filters', () => {
  it('calls a filter that fires on stripes a texture filter, and a torso, head or background filter not', () => {
    const striped = samples.filter((s) => s.textures!.list.some((r) => r.kind === 'stripes' && r.area > 0));
    expect(striped.length).toBeGreaterThan(4);
    expect(striped.length).toBeLessThan(samples.length);
    const groups = assignGroups([plantedMaps(samples)], {
      shape: [GRID, GRID, 4],
      samples,
      geometry,
      topN: 20,
    });
    expect(groups.map((g) => g.group)).toEqual(['stripes', 'torso', 'head', 'background']);
    const chance = textureChance(samples, { h: GRID, w: GRID, ...geometry });
    expect(chance).toBeGreaterThan(0.3);
    expect(chance).toBeLessThan(1 - TEXTURE_RULE.margin);
    expect(groups[0]!.texture!.onTexture).toBeGreaterThanOrEqual(chance + TEXTURE_RULE.margin);
    // The torso filter lands on textured coat only in textured images: about chance, not above it.
    expect(groups[1]!.texture!.onTexture).toBeLessThan(chance + TEXTURE_RULE.margin);
    expect(groups[1]!.texture!.onTexture).toBeGreaterThan(0);
    expect(groups[3]!.texture!.onTexture).toBe(0);
  });

  it('needs enough peaks: a stripe filter that fires in fewer than minPeaks images is not a texture filter', () => {
    const maps = plantedMaps(samples);
    const striped = samples
      .map((s, i) => (s.textures!.list.some((r) => r.kind === 'stripes' && r.area > 0) ? i : -1))
      .filter((i) => i >= 0);
    // Channel 0 (stripes) silenced in every image but the first few striped ones.
    const kept = new Set(striped.slice(0, TEXTURE_RULE.minPeaks - 1));
    const cells = GRID * GRID;
    for (let n = 0; n < samples.length; n++)
      if (!kept.has(n)) for (let q = 0; q < cells; q++) maps[(n * cells + q) * 4] = 0;
    const groups = assignGroups([maps], { shape: [GRID, GRID, 4], samples, geometry, topN: 20 });
    expect(groups[0]!.texture!.onTexture).toBeGreaterThan(0.5);
    expect(groups[0]!.group).not.toBe('stripes');
  });

  it('does not measure textures where a blind filter could pass (chance + margin > 1): null, not 0 %', () => {
    const part = { filters: 3, share: 0.4, decision: 0.5 };
    const rule = { cover: 0.25, margin: TEXTURE_RULE.margin, chance: 0.8 };
    const talk = talkShares(
      [{ group: 'torso', ofInterpretable: 1, ...part }],
      { ordinaryShare: 0.6, filters: 4 },
      rule,
    );
    expect(talk.textures).toBeNull();
    expect(
      talkShares(
        [{ group: 'torso', ofInterpretable: 1, ...part }],
        { ordinaryShare: 0.6, filters: 4 },
        { ...rule, chance: 0.5 },
      ).textures,
    ).toEqual({
      filters: 0,
      share: 0,
      decision: 0,
    });
    expect(talkLine(talk)).toBe(
      '40.0 % parts, textures not measurable, 0.0 % background, 60.0 % not interpretable',
    );
  });

  it('without texture annotation there is no texture group: the stripe filter is a part filter', () => {
    const bare = withoutTextures(samples);
    const groups = assignGroups([plantedMaps(samples)], {
      shape: [GRID, GRID, 4],
      samples: bare,
      geometry,
      topN: 20,
    });
    expect(['torso', 'head', 'neck']).toContain(groups[0]!.group);
    expect(groups.every((g) => g.texture === undefined)).toBe(true);
  });

  it('explains planted features in the talk’s form: four shares that sum to 1, textures carved out of parts', () => {
    const maps = plantedMaps(samples);
    const x = tf.tensor4d(maps, [samples.length, GRID, GRID, 4]);
    let at = 0;
    const performer: Performer = {
      network: undefined as never,
      link: { category: 'c', task: 't' },
      split: 'conv',
      xShape: [GRID, GRID, 4],
      yShape: [GRID, GRID, 2],
      geometry,
      explained: { index: 0, outputs: 1, activation: 'none', describe: 'output 0 of 1, the logit' },
      // The planted maps, in the order explain() asks for the images.
      features: (images) =>
        tf.tidy(() => {
          const b = images.shape[0];
          at += b;
          return tf.slice(x, [at - b, 0, 0, 0], [b, -1, -1, -1]);
        }),
      higher: (v) => tf.tidy(() => tf.slice(v, [0, 0, 0, 0], [-1, -1, -1, 2])),
      upper: (y) => tf.tidy(() => tf.reshape(tf.mean(y, [1, 2, 3]), [-1, 1])),
    };
    const explainer = new Explainer([GRID, GRID, 4], [GRID, GRID, 2], {
      filters: 4,
      mask: 'argmax',
      seed: 2,
      p0: 0.5,
    });
    // Interpretable filter k passes planted channel k through (3×3 kernel, centre tap).
    const kernel = new Float32Array(3 * 3 * 4 * 4);
    for (let k = 0; k < 4; k++) kernel[((1 * 3 + 1) * 4 + k) * 4 + k] = 1;
    const conv = explainer.interpretable.layers[0]!;
    tf.tidy(() => conv.setWeights([tf.tensor4d(kernel, [3, 3, 4, 4]), tf.zeros([4])]));
    const before = tf.memory().numTensors;
    const e = explain({ performer, explainer }, { samples, p: 0.4 });
    const e2 = explain(
      { performer: { ...performer, features: (im) => ((at = 0), performer.features(im)) }, explainer },
      {
        samples: withoutTextures(samples),
        p: 0.4,
      },
    );
    expect(tf.memory().numTensors).toBe(before);
    expect(e.filters.map((f) => f.group)).toEqual(['stripes', 'torso', 'head', 'background']);
    const { parts, textures, background, notInterpretable } = e.talk;
    expect(textures!.filters).toBe(1);
    expect(textures!.share).toBeCloseTo(e.filters[0]!.contribution, 12);
    expect(parts.filters).toBe(2);
    expect(background.filters).toBe(1);
    expect(notInterpretable.filters).toBe(4);
    expect(notInterpretable.share).toBeCloseTo(e.ordinaryShare, 12);
    expect(parts.share + textures!.share + background.share + notInterpretable.share).toBeCloseTo(1, 6);
    expect(parts.decision + textures!.decision + background.decision + notInterpretable.decision).toBeCloseTo(
      1,
      6,
    );
    for (const k of [parts, textures!, background]) expect(k.share).toBeGreaterThan(0);
    // The same features without texture annotation: textures not available, the filter counts as a part.
    expect(e2.talk.textures).toBeNull();
    expect(e2.talk.parts.filters).toBe(3);
    expect(e2.talk.parts.share).toBeCloseTo(parts.share + textures!.share, 6);
    expect(talkLine(e2.talk)).toMatch(/textures not available/);
    x.dispose();
    explainer.dispose();
  });

  it('prints and writes the four shares', () => {
    const talk = talkShares(
      [
        { group: 'head', filters: 3, ofInterpretable: 0.5, share: 0.3, decision: 0.4 },
        { group: 'spots', filters: 2, ofInterpretable: 0.25, share: 0.15, decision: 0.1 },
        { group: 'river', filters: 1, ofInterpretable: 0.25, share: 0.15, decision: 0.05 },
        { group: 'silent', filters: 1, ofInterpretable: 0, share: 0, decision: 0 },
      ],
      { ordinaryShare: 0.4, filters: 7 },
      { cover: 0.25, margin: 0.3, chance: 0.45 },
    );
    expect(talk.notInterpretable).toEqual({ filters: 8, share: 0.4, decision: expect.closeTo(0.45, 12) });
    const report = {
      network: 'cat-cls@1.0.0',
      category: 'cat',
      explained: 'output 0 of 1, the logit',
      p: 0.4,
      stream: 'dev',
      steps: 10,
      converged: false,
      fidelity: { performer: 1, explained: 1 },
      groups: [],
      talk,
      filters: [],
      ordinaryShare: 0.4,
      reconstructionError: 0.5,
      files: { markdown: 'r.md', html: 'r.html', heatmaps: 'g.png' },
    } satisfies ExplainReport;
    expect(formatExplainReport(report)).toContain(
      'Features: 30.0 % parts, 15.0 % textures, 15.0 % background, 40.0 % not interpretable.',
    );
    expect(() =>
      talkShares(
        [{ group: 'stripes', filters: 1, ofInterpretable: 1, share: 1, decision: 1 }],
        { ordinaryShare: 0, filters: 1 },
        { cover: 0.25, margin: 0.3 },
      ),
    ).toThrow(/texture-annotated images/);
  });
});
