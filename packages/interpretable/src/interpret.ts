import * as tf from '@tensorflow/tfjs';
import type { Network } from '@transplant/composer';
import {
  PART_NAMES,
  SyntheticSet,
  objectCrop,
  partLabel,
  type CategoryId,
  type PartName,
  type RenderedSample,
} from '@transplant/data';
import { cellGeometry, findLayer, layerActivations, type CellGeometry } from './layer-probe';
import {
  locationInstability,
  partInterpretability,
  type FeatureMaps,
  type InstabilityResult,
  type InterpretabilityResult,
} from './metrics';

/** The landmarks of location instability: Pascal-Part's head, neck and torso (docs/methods.md §1.3), where the category has them. */
export const INSTABILITY_LANDMARKS: readonly PartName[] = ['head', 'neck', 'torso'];

/** Images of one category with their part annotations, for the interpretability metrics. */
export interface PartImages {
  readonly category: CategoryId;
  readonly samples: readonly RenderedSample[];
  readonly size: number;
  /** The synthetic set they come from, for reports. */
  readonly describe: string;
}

/**
 * Held-out images of a category (the test split of a set seeded apart from every training
 * stream): `count` images at `size` pixels, whole scenes or (`crop`) object crops.
 */
export function partImages(
  category: CategoryId,
  options: { count: number; size: number; seed?: string; crop?: boolean },
): PartImages {
  const set = new SyntheticSet({
    seed: options.seed ?? 'interpret',
    size: options.size,
    categories: [category],
    perCategory: { train: 0, dev: 0, test: options.count },
    negatives: { train: 0, dev: 0, test: 0 },
  });
  const samples = set
    .items('test')
    .map((ref) => (options.crop ? objectCrop(set.render(ref), options.size) : set.render(ref)));
  return {
    category,
    samples,
    size: options.size,
    describe: `${set.describe()} split=test${options.crop ? ' object crops' : ''}`,
  };
}

/**
 * Background scenes without an animal (the negatives of a set seeded apart from every
 * training stream), typed as images of `category` for the code that reads part images.
 */
export function backgroundImages(
  category: CategoryId,
  options: { count: number; size: number; seed?: string },
): PartImages {
  const set = new SyntheticSet({
    seed: options.seed ?? 'backgrounds',
    size: options.size,
    categories: [category],
    perCategory: { train: 0, dev: 0, test: 0 },
    negatives: { train: 0, dev: 0, test: options.count },
  });
  return {
    category,
    samples: set.items('test').map((ref) => set.render(ref)),
    size: options.size,
    describe: `${set.describe()} split=test negatives`,
  };
}

/** RGB images of one size as a [N, size, size, 3] tensor in [0, 1]. */
export function rgbTensor(images: readonly { readonly rgb: Uint8Array }[], size: number): tf.Tensor4D {
  const pixels = size * size * 3;
  const data = new Float32Array(images.length * pixels);
  images.forEach((s, i) => {
    for (let p = 0; p < pixels; p++) data[i * pixels + p] = s.rgb[p]! / 255;
  });
  return tf.tensor4d(data, [images.length, size, size, 3]);
}

/** The images as a [N, H, W, 3] tensor in [0, 1]. */
export function imagesTensor(images: PartImages, from = 0, to = images.samples.length): tf.Tensor4D {
  return rgbTensor(images.samples.slice(from, to), images.size);
}

/** A part's centre [x, y] per image, or null where it is hidden. */
export function partCentres(images: PartImages, part: PartName): ([number, number] | null)[] {
  return images.samples.map((s) => {
    const p = s.annotation.parts[part];
    return p?.visible && p.centre ? [p.centre[0], p.centre[1]] : null;
  });
}

export interface LayerInterpretation {
  readonly layer: string;
  readonly module: string;
  readonly geometry: CellGeometry;
  readonly filters: number;
  readonly images: number;
  readonly instability: InstabilityResult;
  readonly interpretability: InterpretabilityResult & { readonly parts: readonly PartName[] };
  /** The layer's maps over the images (for pictures). */
  readonly maps: FeatureMaps;
}

export interface InterpretOptions {
  /** ICNN ranks a filter's images and keeps the top 100; scaled here to at most half the images. */
  readonly topN?: number;
  readonly quantile?: number;
  readonly iou?: number;
}

export interface InterpretLayerOptions extends InterpretOptions {
  /** The layer (module-local or MODULE:LAYER). */
  readonly layer: string;
  /** Images of one category, with part annotations. */
  readonly images: PartImages;
}

/**
 * Location instability and part interpretability of one layer of a network's link, on
 * images of one category. The layer's maps are read in inference mode (for an interpretable
 * layer: the masked maps the next layer consumes).
 */
export function interpretLayer(
  { network, link }: { readonly network: Network; readonly link: { category: string; task: string } },
  options: InterpretLayerOptions,
): LayerInterpretation {
  const { layer: layerName, images } = options;
  const ref = findLayer(network, link, layerName);
  const geometry = cellGeometry(ref);
  if (geometry.imageSize[0] !== images.size)
    throw new RangeError(
      `the network takes ${geometry.imageSize[0]}-pixel images; the part images are ${images.size}`,
    );
  const chunks: Float32Array[] = [];
  let shape: [number, number, number, number] = [0, 0, 0, 0];
  for (let from = 0; from < images.samples.length; from += 50) {
    const batch = imagesTensor(images, from, Math.min(from + 50, images.samples.length));
    const maps = layerActivations(ref, batch);
    chunks.push(maps.dataSync() as Float32Array);
    shape = [shape[0] + maps.shape[0], maps.shape[1], maps.shape[2], maps.shape[3]];
    tf.dispose([batch, maps]);
  }
  const values = new Float32Array(chunks.reduce((s, c) => s + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    values.set(c, at);
    at += c.length;
  }
  const maps: FeatureMaps = { values, shape };
  const annotations = images.samples.map((s) => s.annotation);
  const present = (part: PartName) => annotations.some((a) => a.parts[part] !== undefined);
  const landmarks = INSTABILITY_LANDMARKS.filter(present).map((part) => partCentres(images, part));
  const diagonal = Math.hypot(geometry.imageSize[0], geometry.imageSize[1]);
  const topN = options.topN ?? Math.min(100, Math.floor(images.samples.length / 2));
  const instability = locationInstability(maps, geometry, landmarks, { topN, diagonal });
  const parts = PART_NAMES.filter(present);
  const interpretability = partInterpretability(
    maps,
    geometry,
    images.samples.map((s) => s.labels),
    parts.map(partLabel),
    { quantile: options.quantile ?? 0.995, iou: options.iou ?? 0.2 },
  );
  return {
    layer: ref.name,
    module: ref.module.name,
    geometry,
    filters: shape[3],
    images: shape[0],
    instability,
    interpretability: { ...interpretability, parts },
    maps,
  };
}

/** A part label's name. */
export const partNameOf = (label: number): PartName => PART_NAMES[label - 1]!;
