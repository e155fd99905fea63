import { resolve } from 'node:path';
import { TransplantError } from '@transplant/core';
import type { Network } from '@transplant/composer';
import { Rng, cropResize, decodeImage, type CategoryId } from '@transplant/data';
import { partCentres, type PartImages } from '@transplant/interpretable';
import type { Registry } from '@transplant/registry';
import {
  assertAogFits,
  learnAog,
  localizeWithAog,
  type AndOrGraph,
  type AogParse,
  type PartShots,
} from './aog';
import { decodeAog, encodeAog, loadAog, saveAog } from './aog-artifact';
import { drawWithoutReplacement } from './evaluate';
import { inferGraph, type ExplanatoryGraph, type GraphInference, type Link } from './graph';
import { imagesOf, type ImageSource } from './graph-images';
import { annotatedParts } from './localize-parts';

/** The registry attachment kind AOGs are stored under, on their category module's version (beside the graph). */
export const AOG_ATTACHMENT = 'aog';

const invalid = (message: string) => new TransplantError('E_INVALID_ARGUMENT', message, { operation: 'aog' });

/** An AOG from a file, or the one attached to the network's category module in `registry`. */
export async function loadAogFor(options: {
  readonly network: Network;
  readonly link: Pick<Link, 'category'>;
  readonly file?: string;
  readonly registry: Pick<Registry, 'attachment'>;
}): Promise<AndOrGraph> {
  if (options.file) return loadAog(resolve(options.file));
  const m = options.network.module(options.link.category);
  if (!m.published) throw invalid(`${m.name} is not from the registry; pass --aog FILE`);
  const { bytes } = await options.registry.attachment(`${m.name}@${m.published.version}`, AOG_ATTACHMENT);
  return decodeAog(bytes);
}

/**
 * K shots per part: for each part annotated in the images, K images showing it, drawn without
 * replacement with the seed (`${seed}:${part}:${k}`) as `fewShotLocalization` draws them. Without
 * `parts`, a part shown in fewer than K images is left out; a part named in `parts` that cannot be
 * drawn K times is an error (E_INVALID_ARGUMENT).
 */
export function drawPartShots(
  images: PartImages,
  options: { readonly k: number; readonly seed: string; readonly parts?: readonly string[] },
): PartShots[] {
  const { k, seed } = options;
  if (!Number.isInteger(k) || k < 1) throw invalid(`shots per part must be a positive integer; got ${k}`);
  const annotated = annotatedParts(images);
  const parts = options.parts ?? annotated;
  for (const p of parts)
    if (!annotated.includes(p as (typeof annotated)[number]))
      throw invalid(`"${p}" is not an annotated part of these images; parts: ${annotated.join(', ')}`);
  return parts.flatMap((part) => {
    const targets = partCentres(images, part as (typeof annotated)[number]);
    const candidates = targets.flatMap((t, i) => (t ? [i] : []));
    if (candidates.length < k) {
      if (!options.parts) return [];
      throw invalid(
        `part "${part}" is shown in ${candidates.length} of the ${targets.length} images, fewer than the ${k} shots asked for; ask for fewer shots, give more images, or leave the part out`,
      );
    }
    return [{ part, shots: drawWithoutReplacement(candidates, k, new Rng(`${seed}:${part}:${k}`)), targets }];
  });
}

export interface LearnCategoryAogOptions {
  readonly graph: ExplanatoryGraph;
  readonly network: Network;
  readonly link: Link;
  readonly category: CategoryId;
  /** The images the shots are drawn from (annotated object crops). */
  readonly pool: ImageSource;
  /** Annotated images per part (1–3 is what an AOG is meant for). */
  readonly k: number;
  readonly seed: string;
  readonly parts?: readonly string[];
  /** Nodes per template (default 10). */
  readonly top?: number;
  readonly out?: string;
  readonly attach?: { readonly registry: Registry; readonly replace?: boolean };
}

export interface LearnedCategoryAog {
  readonly aog: AndOrGraph;
  readonly images: PartImages;
  readonly inference: GraphInference;
  readonly file?: string;
  readonly digest?: string;
  readonly attached?: string;
}

/**
 * The learning workflow: draws K annotated shots per part from the pool, infers the graph on
 * the shots only, learns the AOG, and writes it where asked (file, registry attachment).
 */
export async function learnCategoryAog(options: LearnCategoryAogOptions): Promise<LearnedCategoryAog> {
  const { graph, network, link, category, k, seed } = options;
  const pool = imagesOf(options.pool, category, graph.imageSize);
  const drawn = drawPartShots(pool, { k, seed, ...(options.parts ? { parts: options.parts } : {}) });
  if (drawn.length === 0)
    throw invalid(`no part is annotated in ${k} of the ${pool.samples.length} pool images`);
  // Only the shots are inferred: the AOG sees no other annotated image.
  const used = [...new Set(drawn.flatMap((d) => d.shots))].sort((a, b) => a - b);
  const at = new Map(used.map((i, j) => [i, j]));
  const images: PartImages = { ...pool, samples: used.map((i) => pool.samples[i]!) };
  const inference = inferGraph(graph, { network, link, images });
  const parts = drawn.map((d) => ({
    part: d.part,
    shots: d.shots.map((i) => at.get(i)!),
    targets: used.map((i) => d.targets[i] ?? null),
  }));
  const aog = learnAog(graph, inference, {
    parts,
    ...(options.top !== undefined ? { top: options.top } : {}),
    data: `${k} shot(s) per part from ${pool.describe}`,
    seed,
  });
  let result: LearnedCategoryAog = { aog, images, inference };
  if (options.out) {
    const file = resolve(options.out);
    result = { ...result, file, digest: await saveAog(aog, file) };
  }
  if (options.attach) {
    const m = network.module(link.category);
    if (!m.published) throw invalid(`${m.name} is not from the registry: nothing to attach the AOG to`);
    const r = await options.attach.registry.attach(`${m.name}@${m.published.version}`, {
      kind: AOG_ATTACHMENT,
      bytes: encodeAog(aog),
      replace: options.attach.replace === true,
    });
    result = { ...result, attached: `${r.name}@${r.version}`, digest: r.digest };
  }
  return result;
}

/** Infers the graph on the images and parses each with the AOG (the AOG must be the graph's). */
export function localizeImagesWithAog(options: {
  readonly aog: AndOrGraph;
  readonly graph: ExplanatoryGraph;
  readonly network: Network;
  readonly link: Link;
  readonly images: PartImages;
}): { parses: AogParse[]; inference: GraphInference } {
  const { aog, graph, network, link, images } = options;
  assertAogFits(aog, graph);
  const inference = inferGraph(graph, { network, link, images });
  return {
    parses: Array.from({ length: inference.n }, (_, i) => localizeWithAog(aog, inference, i)),
    inference,
  };
}

/**
 * An image file (JPEG, PNG) as one unannotated image of `category`, resized (bilinear, the whole
 * image) to the network's `size` × `size` input.
 */
export async function imageFileAsPartImages(
  path: string,
  category: CategoryId,
  size: number,
): Promise<PartImages> {
  const file = resolve(path);
  const decoded = await decodeImage(file, path);
  const image = await cropResize(
    decoded,
    { left: 0, top: 0, width: decoded.width, height: decoded.height },
    size,
  );
  return {
    category,
    size,
    describe: `${path} (${decoded.width} × ${decoded.height}, resized to ${size} × ${size})`,
    samples: [
      {
        width: size,
        height: size,
        rgb: image.rgb,
        labels: new Uint8Array(size * size),
        annotation: {
          category,
          width: size,
          height: size,
          box: null,
          parts: {},
          facing: null,
          truncated: false,
          occluded: false,
        },
      },
    ],
  };
}
