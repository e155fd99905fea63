import * as tf from '@tensorflow/tfjs';
import { PART_NAMES, TEXTURE_KINDS, type RenderedSample, type TextureKind } from '@transplant/data';
import { TransplantError } from '@transplant/core';
import { rgbTensor } from '@transplant/interpretable';
import type { Explainer, Performer } from './explainer';

/** A frozen performer and the explainer trained on its features. */
export interface PerformerAndExplainer {
  readonly performer: Performer;
  readonly explainer: Explainer;
}

/**
 * What an interpretable filter represents: an object part, a coat texture (`stripes`, `spots`:
 * its peaks fall on textured coat whatever the part, see `TEXTURE_RULE`), the background river,
 * other background, or nothing (it never fires).
 */
export type FilterGroup = (typeof PART_NAMES)[number] | TextureKind | 'river' | 'background' | 'silent';

/** The four kinds of the talk's quantitative explanation ("83 % parts, 7 % textures, 10 % not interpretable"). */
export type TalkKind = 'parts' | 'textures' | 'background' | 'not interpretable';

/** Which kind a group belongs to (the ordinary track is "not interpretable" too). */
export function talkKindOf(group: FilterGroup): TalkKind {
  if ((TEXTURE_KINDS as readonly string[]).includes(group)) return 'textures';
  if (group === 'river' || group === 'background') return 'background';
  if (group === 'silent') return 'not interpretable';
  return 'parts';
}

/**
 * When a filter is a texture filter (docs/methods.md §5.4). Over its top images (the `topN`
 * strongest, as for the groups), a peak is **on texture** when textured coat covers at least
 * `cover` of its cell's patch; `onTexture` is the share of its peaks on texture. `chance` is the
 * share of the explanation images that have such a cell at all: a filter blind to texture (a
 * torso filter, say, on animals whose torso is sometimes striped) has its peak on texture only
 * in textured images, so in about `chance` of its top images or fewer. The filter is a texture
 * filter when it has at least `minPeaks` peaks and `onTexture ≥ chance + margin`, whichever
 * part its peaks fall on; its group is the kind (stripes, spots) most of those peaks fall on.
 * The margin comes from a binomial bound, not from tuning (docs/methods.md §5.4).
 */
export const TEXTURE_RULE = { cover: 0.25, margin: 0.3, minPeaks: 10 } as const;

/**
 * Whether the texture rule can tell a texture filter from a blind one on these images: the
 * images are annotated, and `chance + margin` is a share a filter can reach (≤ 1). Where nearly
 * every image is textured it cannot, and textures are not measured (null), not 0 %.
 */
export const textureMeasurable = (rule: { readonly margin: number; readonly chance?: number }): boolean =>
  rule.chance !== undefined && rule.chance + rule.margin <= 1;

export interface TextureEvidence {
  /** Share of the filter's top peaks on textured coat. */
  readonly onTexture: number;
  /** The share a texture-blind filter reaches at most: explanation images with textured coat to peak on. */
  readonly chance: number;
}

export interface FilterReport {
  readonly filter: number;
  readonly group: FilterGroup;
  /** Share of its top images whose peak falls on `group`. */
  readonly purity: number;
  /** The texture rule's numbers (absent when the images have no texture annotation). */
  readonly texture?: TextureEvidence;
  /** Mean share of the reconstruction it carries (over the images). */
  readonly contribution: number;
  /** Mean share of the performer's decision it carries (`Explainer.decisionContributions`). */
  readonly decision: number;
}

export interface GroupShare {
  readonly group: FilterGroup;
  readonly filters: number;
  /** Share of the interpretable track's contribution (the groups sum to 1). */
  readonly ofInterpretable: number;
  /**
   * Share of the features, measured: its filters' share of Σ|decoder terms| over both tracks
   * (`Explainer.contributions`), mean over the images; the groups and the ordinary track
   * (`Explanation.ordinaryShare`) sum to 1.
   */
  readonly share: number;
  /** Share of the performer's decision (logit) its filters carry, of all 2F filters of both tracks. */
  readonly decision: number;
}

/** One kind of the talk's form: its filters, share of the features and of the decision. */
export interface TalkShare {
  readonly filters: number;
  /** Share of Σ|decoder terms| over both tracks (as `GroupShare.share`). */
  readonly share: number;
  /** Share of the performer's decision (first order, as `GroupShare.decision`). */
  readonly decision: number;
}

/**
 * The explanation in the talk's form: parts, textures, background and not interpretable, whose
 * shares sum to 1. Parts are the part groups with the texture filters taken out of them;
 * background the river and other background groups; not interpretable the ordinary track and
 * the silent interpretable filters. `textures` is null when the images have no texture
 * annotation (CUB, photos): not measured, which is not 0; texture filters then count as parts.
 */
export interface TalkShares {
  readonly parts: TalkShare;
  readonly textures: TalkShare | null;
  readonly background: TalkShare;
  readonly notInterpretable: TalkShare;
  /**
   * The texture rule as applied (`TEXTURE_RULE`); `chance` only when textures are annotated.
   * `textures` is null when they are not, or when `chance + margin` > 1 (`textureMeasurable`).
   */
  readonly textureRule: { readonly cover: number; readonly margin: number; readonly chance?: number };
}

export interface ImageExplanation {
  readonly index: number;
  /** The performer's logit on the image. */
  readonly logit: number;
  /** The groups of interpretable filters by their share of the interpretable track in this image, largest first. */
  readonly groups: { group: FilterGroup; share: number }[];
}

export interface Explanation {
  /** The measured p (`Explainer.reconstructionShare` on held-out images), as the caller passed it. */
  readonly p: number;
  /** The gate weight of the fusion (fixed at p0 unless −η·log p trained it). */
  readonly gate: number;
  /**
   * The interpretable track's share of Σ|decoder terms| (`Explainer.contributions`), mean over
   * the images: the sum of the groups' shares. It differs from p, which asks what the
   * interpretable track can reconstruct alone, not how large its terms are.
   */
  readonly interpretableShare: number;
  /** The ordinary track's share of Σ|decoder terms| (1 − interpretableShare). */
  readonly ordinaryShare: number;
  readonly groups: GroupShare[];
  /** The groups and the ordinary track in the talk's four kinds. */
  readonly talk: TalkShares;
  readonly filters: FilterReport[];
  readonly images: ImageExplanation[];
  /** The interpretable track's maps over the images, [N, h, w, F] (for pictures). */
  readonly maps: { readonly values: Float32Array; readonly shape: readonly [number, number, number, number] };
}

/** Values of one track's decoder terms (`Explainer.accounting`) `explain` lets a chunk of images hold. */
export const TERMS_BUDGET = 1 << 24;

/** Rendered images of one size as a tensor in [0, 1]. */
export const imageTensor = (samples: readonly RenderedSample[]): tf.Tensor4D =>
  rgbTensor(samples, samples[0]!.width);

/**
 * What a cell of the explained layer sees in a sample: the part covering most of the cell's
 * `cell × cell` patch if parts cover at least a quarter of it, else the river if it covers a
 * quarter, else background; and the texture kind covering most of the patch when textured coat
 * covers at least `TEXTURE_RULE.cover` of it (null otherwise, or without texture annotation).
 */
function groupAt(
  sample: RenderedSample,
  x: number,
  y: number,
  cell: number,
): { group: FilterGroup; texture: TextureKind | null } {
  const size = sample.width;
  const counts = new Map<FilterGroup, number>();
  const kinds = new Map<TextureKind, number>();
  const textures = sample.textures;
  let parts = 0;
  let river = 0;
  let textured = 0;
  let pixels = 0;
  for (let py = Math.max(0, Math.floor(y - cell / 2)); py < Math.min(size, Math.ceil(y + cell / 2)); py++) {
    for (let px = Math.max(0, Math.floor(x - cell / 2)); px < Math.min(size, Math.ceil(x + cell / 2)); px++) {
      pixels++;
      const label = sample.labels[py * size + px]!;
      if (label > 0) {
        parts++;
        const name = PART_NAMES[label - 1]!;
        counts.set(name, (counts.get(name) ?? 0) + 1);
      } else if (sample.river?.[py * size + px]) river++;
      const region = textures?.regions[py * size + px] ?? 0;
      if (region > 0) {
        textured++;
        const kind = textures!.list[region - 1]!.kind;
        kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
      }
    }
  }
  const texture =
    pixels > 0 && textured >= pixels * TEXTURE_RULE.cover
      ? [...kinds.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]![0]
      : null;
  if (parts >= pixels / 4)
    return { group: [...counts.entries()].sort((a, b) => b[1] - a[1])[0]![0], texture };
  return { group: river >= pixels / 4 ? 'river' : 'background', texture };
}

/** Whether every sample has a texture annotation (synthetic images do; CUB and photos do not). */
export const hasTextureAnnotation = (samples: readonly RenderedSample[]): boolean =>
  samples.length > 0 && samples.every((s) => s.textures !== undefined);

/**
 * `TextureEvidence.chance`: the share of the samples with at least one cell (of the explained
 * layer's h × w grid) whose patch is on textured coat.
 */
export function textureChance(
  samples: readonly RenderedSample[],
  grid: { readonly h: number; readonly w: number; readonly scale: number; readonly offset: number },
): number {
  let textured = 0;
  for (const s of samples) {
    if (!s.textures || s.textures.list.every((r) => r.area === 0)) continue;
    let found = false;
    for (let q = 0; q < grid.h * grid.w && !found; q++) {
      const x = grid.scale * (q % grid.w) + grid.offset;
      const y = grid.scale * Math.floor(q / grid.w) + grid.offset;
      found = groupAt(s, x, y, grid.scale).texture !== null;
    }
    if (found) textured++;
  }
  return samples.length > 0 ? textured / samples.length : 0;
}

/**
 * Each channel's group over annotated images: what its peak cell covers (`groupAt`) in most of
 * its `topN` strongest images; `silent` if it never fires. When every sample has a texture
 * annotation, a channel whose peaks fall on textured coat (`TEXTURE_RULE`, with `margin`
 * replacing its margin when given) is a texture filter whichever part they fall on: its group is
 * the texture kind, its purity the share of its top peaks on that kind, and `texture` gives the
 * rule's numbers. maps are [N, h, w, C] chunks in image order; shape is [h, w, C].
 */
export function assignGroups(
  maps: readonly Float32Array[],
  options: {
    readonly shape: readonly [number, number, number];
    readonly samples: readonly RenderedSample[];
    readonly geometry: { scale: number; offset: number };
    readonly topN: number;
    readonly margin?: number;
  },
): { group: FilterGroup; purity: number; texture?: TextureEvidence }[] {
  const { shape, samples, geometry, topN } = options;
  const [h, w, c] = shape;
  const annotated = hasTextureAnnotation(samples);
  const chance = annotated ? textureChance(samples, { h, w, ...geometry }) : 0;
  const margin = options.margin ?? TEXTURE_RULE.margin;
  const out: { group: FilterGroup; purity: number; texture?: TextureEvidence }[] = [];
  for (let k = 0; k < c; k++) {
    const peaks: { i: number; v: number; cell: number }[] = [];
    let i = 0;
    for (const m of maps) {
      const count = m.length / (h * w * c);
      for (let j = 0; j < count; j++, i++) {
        let best = 0;
        let cell = -1;
        for (let q = 0; q < h * w; q++) {
          const v = m[(j * h * w + q) * c + k]!;
          if (v > best) [best, cell] = [v, q];
        }
        if (cell >= 0) peaks.push({ i, v: best, cell });
      }
    }
    peaks.sort((a, b) => b.v - a.v || a.i - b.i);
    const votes = new Map<FilterGroup, number>();
    const onKind = new Map<TextureKind, number>();
    const top = peaks.slice(0, topN);
    for (const p of top) {
      const at = groupAt(
        samples[p.i]!,
        geometry.scale * (p.cell % w) + geometry.offset,
        geometry.scale * Math.floor(p.cell / w) + geometry.offset,
        geometry.scale,
      );
      votes.set(at.group, (votes.get(at.group) ?? 0) + 1);
      if (at.texture) onKind.set(at.texture, (onKind.get(at.texture) ?? 0) + 1);
    }
    const majority = <K extends string>(m: Map<K, number>) =>
      [...m.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0];
    const [group, count] = majority(votes) ?? (['silent', 0] as const);
    const purity = count / Math.max(1, top.length);
    if (!annotated) {
      out.push({ group, purity });
      continue;
    }
    const onTexture = [...onKind.values()].reduce((t, v) => t + v, 0) / Math.max(1, top.length);
    const texture = { onTexture, chance };
    const kind = majority(onKind);
    if (top.length >= TEXTURE_RULE.minPeaks && kind && chance + margin <= 1 && onTexture >= chance + margin)
      out.push({ group: kind[0], purity: kind[1] / top.length, texture });
    else out.push({ group, purity, texture });
  }
  return out;
}

/**
 * The quantitative explanation (docs/methods.md §5, §9.4) on annotated images: every
 * interpretable filter's group — what its peak cell covers (a part, the river, other
 * background; see `groupAt`) in most of its `topN` strongest images, with our part masks — and
 * its mean share of Σ|decoder terms| over both tracks (`Explainer.contributions`); the shares
 * summed per group ("12 head filters contribute 42 %") beside the ordinary track's; per image,
 * which groups carried it. `p` is measured elsewhere (`Explainer.reconstructionShare`, on
 * held-out features) and passed through.
 */
export function explain(
  { performer, explainer }: PerformerAndExplainer,
  opts: {
    readonly samples: readonly RenderedSample[];
    readonly p: number;
    readonly topN?: number;
    /** `TEXTURE_RULE.margin` unless given. */
    readonly textureMargin?: number;
  },
): Explanation {
  const { samples } = opts;
  const f = explainer.options.filters;
  const n = samples.length;
  const shares = new Float64Array(n * 2 * f);
  const decisions = new Float64Array(n * 2 * f);
  const maps: Float32Array[] = [];
  const logits: number[] = [];
  // The accounting holds every filter's decoder terms, [B, h, w, F, C_y] per track: images are
  // taken as many at a time as keep that under TERMS_BUDGET values (MobileNetV2's 7×7 map with
  // 32 filters and a 1,280-channel next layer is 2 M values an image).
  const [h, w] = performer.xShape;
  const step = Math.max(1, Math.min(64, Math.floor(TERMS_BUDGET / (h * w * f * performer.yShape[2]))));
  for (let from = 0; from < n; from += step) {
    const chunk = samples.slice(from, from + step);
    tf.tidy(() => {
      const images = imageTensor(chunk);
      const x = performer.features(images);
      logits.push(...Array.from(performer.upper(performer.higher(x)).dataSync()));
      const forward = explainer.forward(x);
      const accounted = explainer.accounting(forward, (y) => performer.upper(y));
      shares.set(accounted.features.dataSync(), from * 2 * f);
      decisions.set(accounted.decision!.dataSync(), from * 2 * f);
      maps.push(forward.interpretable.dataSync() as Float32Array);
    });
  }
  const assigned = assignGroups(maps, {
    shape: [performer.xShape[0], performer.xShape[1], f],
    samples,
    geometry: performer.geometry,
    topN: opts.topN ?? 20,
    ...(opts.textureMargin === undefined ? {} : { margin: opts.textureMargin }),
  });
  const filters: FilterReport[] = assigned.map((a, k) => {
    let contribution = 0;
    let decision = 0;
    for (let im = 0; im < n; im++) {
      contribution += shares[im * 2 * f + k]! / n;
      decision += decisions[im * 2 * f + k]! / n;
    }
    return { filter: k, ...a, contribution, decision };
  });
  const interpretableShare = filters.reduce((s, r) => s + r.contribution, 0);
  let ordinaryShare = 0;
  for (let im = 0; im < n; im++) for (let k = f; k < 2 * f; k++) ordinaryShare += shares[im * 2 * f + k]! / n;
  const byGroup = new Map<FilterGroup, { filters: number; share: number; decision: number }>();
  for (const r of filters) {
    const g = byGroup.get(r.group) ?? { filters: 0, share: 0, decision: 0 };
    byGroup.set(r.group, {
      filters: g.filters + 1,
      share: g.share + r.contribution,
      decision: g.decision + r.decision,
    });
  }
  const groups = [...byGroup.entries()]
    .map(([group, g]) => {
      const ofInterpretable = interpretableShare > 0 ? g.share / interpretableShare : 0;
      return { group, filters: g.filters, ofInterpretable, share: g.share, decision: g.decision };
    })
    .sort((a, b) => b.share - a.share || a.group.localeCompare(b.group));
  const margin = opts.textureMargin ?? TEXTURE_RULE.margin;
  const talk = talkShares(
    groups,
    { ordinaryShare, filters: f },
    {
      cover: TEXTURE_RULE.cover,
      margin,
      ...(hasTextureAnnotation(samples) ? { chance: filters[0]?.texture?.chance ?? 0 } : {}),
    },
  );
  const images = samples.map((_, im) => {
    const perGroup = new Map<FilterGroup, number>();
    let total = 0;
    for (const r of filters) {
      const s = shares[im * 2 * f + r.filter]!;
      perGroup.set(r.group, (perGroup.get(r.group) ?? 0) + s);
      total += s;
    }
    return {
      index: im,
      logit: logits[im]!,
      groups: [...perGroup.entries()]
        .map(([group, share]) => ({ group, share: total > 0 ? share / total : 0 }))
        .sort((a, b) => b.share - a.share),
    };
  });
  const values = new Float32Array(maps.reduce((t, m) => t + m.length, 0));
  let at = 0;
  for (const m of maps) {
    values.set(m, at);
    at += m.length;
  }
  return {
    p: opts.p,
    gate: explainer.gate(),
    interpretableShare,
    ordinaryShare,
    groups,
    talk,
    filters,
    images,
    maps: { values, shape: [n, performer.xShape[0], performer.xShape[1], f] },
  };
}

/**
 * The groups in the talk's four kinds (`TalkShares`): each kind sums its groups' filters, shares
 * and decisions; the ordinary track (`filters` of them, `ordinaryShare` of the features, the
 * decision the interpretable filters do not carry) joins the silent filters as not
 * interpretable. Without `rule.chance` the images had no texture annotation: textures are null.
 */
export function talkShares(
  groups: readonly GroupShare[],
  ordinary: { readonly ordinaryShare: number; readonly filters: number },
  rule: TalkShares['textureRule'],
): TalkShares {
  const sum = (kind: TalkKind): TalkShare =>
    groups
      .filter((g) => talkKindOf(g.group) === kind)
      .reduce(
        (t, g) => ({
          filters: t.filters + g.filters,
          share: t.share + g.share,
          decision: t.decision + g.decision,
        }),
        {
          filters: 0,
          share: 0,
          decision: 0,
        },
      );
  const interpretableDecision = groups.reduce((t, g) => t + g.decision, 0);
  const silent = sum('not interpretable');
  const textures = sum('textures');
  if (rule.chance === undefined && textures.filters > 0)
    throw new TransplantError(
      'E_INVALID_ARGUMENT',
      `${textures.filters} texture filters but no texture rule chance; texture groups come only from texture-annotated images: pass rule.chance from them, or put those filters in part groups`,
      { operation: 'explain' },
    );
  return {
    parts: sum('parts'),
    textures: textureMeasurable(rule) ? textures : null,
    background: sum('background'),
    notInterpretable: {
      filters: ordinary.filters + silent.filters,
      share: ordinary.ordinaryShare + silent.share,
      decision: 1 - interpretableDecision + silent.decision,
    },
    textureRule: rule,
  };
}

/**
 * Fidelity (docs/methods.md §5.4 iii): the performer's accuracy on labelled images when its upper
 * layers consume its own higher features y, and when they consume the explainer's ŷ.
 */
export function fidelity(
  { performer, explainer }: PerformerAndExplainer,
  options: { readonly samples: readonly RenderedSample[]; readonly labels: readonly number[] },
): { performer: number; explained: number } {
  const { samples, labels } = options;
  let own = 0;
  let rebuilt = 0;
  for (let from = 0; from < samples.length; from += 64) {
    const chunk = samples.slice(from, from + 64);
    const [a, b] = tf.tidy(() => {
      const x = performer.features(imageTensor(chunk));
      const real = performer.upper(performer.higher(x)).dataSync();
      const fake = performer.upper(explainer.forward(x).reconstruction).dataSync();
      return [Array.from(real), Array.from(fake)];
    });
    a.forEach((v, j) => (own += Number(v > 0) === labels[from + j] ? 1 : 0));
    b.forEach((v, j) => (rebuilt += Number(v > 0) === labels[from + j] ? 1 : 0));
  }
  return { performer: own / samples.length, explained: rebuilt / samples.length };
}
