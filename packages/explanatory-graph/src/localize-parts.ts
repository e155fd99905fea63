import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Network } from '@transplant/composer';
import { TransplantError } from '@transplant/core';
import { PART_NAMES, type CategoryId, type PartName } from '@transplant/data';
import type { PartImages } from '@transplant/interpretable';
import { fewShotLocalization, kShotPredictions, type FewShotResult } from './evaluate';
import { inferGraph, type ExplanatoryGraph, type GraphInference, type Link } from './graph';
import { imagesOf, type ImageSource } from './graph-images';
import { renderLocalizedParts } from './pictures';

export interface LocalizePartsOptions {
  readonly graph: ExplanatoryGraph;
  readonly network: Network;
  readonly link: Link;
  readonly category: CategoryId;
  /** The images the K shots are drawn from. */
  readonly pool: ImageSource;
  /** The held-out images the parts are localized on. */
  readonly test: ImageSource;
  /** Parts to localize (default: every part annotated in the pool); each must be annotated. */
  readonly parts?: readonly string[];
  readonly shots: readonly number[];
  readonly draws: number;
  /** Units the graph and the filter ensemble vote with. */
  readonly top: number;
  /** Seed of the K-shot draws. */
  readonly seed: string;
  /** Ridge strengths the pooled-feature baselines are also fitted with (see FewShotOptions). */
  readonly lambdas?: readonly number[];
  /** Also draw the graph's K-shot predictions (the first K shots) on test image `index`. */
  readonly picture?: {
    readonly file: string;
    readonly k: number;
    readonly index: number;
    readonly title: string;
  };
}

export interface LocalizedParts {
  readonly parts: PartName[];
  readonly results: FewShotResult[];
  readonly pool: { readonly images: PartImages; readonly inference: GraphInference };
  readonly test: { readonly images: PartImages; readonly inference: GraphInference };
  readonly png?: string;
}

/** The parts of a category whose centres are annotated in the images. */
export const annotatedParts = (images: PartImages): PartName[] =>
  (Object.keys(images.samples[0]?.annotation.parts ?? {}) as PartName[]).filter((p) =>
    images.samples.some((s) => s.annotation.parts[p]?.visible),
  );

/**
 * Few-shot part localization with a graph (docs/methods.md §3, §9.3): infers the graph on the
 * pool and the test images, localizes each part from K annotated shots against the raw-filter
 * and pooled-feature baselines, and draws the predictions when asked.
 */
export async function localizeParts(options: LocalizePartsOptions): Promise<LocalizedParts> {
  const { graph, network, link, category } = options;
  const poolImages = imagesOf(options.pool, category, graph.imageSize);
  const testImages = imagesOf(options.test, category, graph.imageSize);
  const annotated = annotatedParts(poolImages);
  const parts = (options.parts ?? annotated) as PartName[];
  for (const p of parts)
    if (!annotated.includes(p))
      throw new TransplantError(
        'E_INVALID_ARGUMENT',
        `"${p}" is not an annotated part of ${category}; parts: ${annotated.join(', ')} (all parts: ${PART_NAMES.join(', ')})`,
        { operation: 'graph' },
      );
  const pool = { images: poolImages, inference: inferGraph(graph, { network, link, images: poolImages }) };
  const test = { images: testImages, inference: inferGraph(graph, { network, link, images: testImages }) };
  const results = fewShotLocalization(graph, {
    pool,
    test,
    parts,
    shots: options.shots,
    draws: options.draws,
    top: options.top,
    seed: options.seed,
    ...(options.lambdas ? { lambdas: options.lambdas } : {}),
  });
  const picture = options.picture;
  if (!picture) return { parts, results, pool, test };
  const png = resolve(picture.file);
  const predictions = kShotPredictions(graph, {
    pool,
    test: test.inference,
    parts,
    k: picture.k,
    index: picture.index,
  });
  await writeFile(
    png,
    renderLocalizedParts(testImages, { index: picture.index, predictions, title: picture.title }),
  );
  return { parts, results, pool, test, png };
}
