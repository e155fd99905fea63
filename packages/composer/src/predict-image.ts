import { resolve } from 'node:path';
import { writeFile } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs';
import { TASKS, TransplantError } from '@transplant/core';
import { decodeImage, encodeGreyPng, encodePng, resizeLinear, type RgbImage } from '@transplant/data';
import { headActivation, type HeadActivation } from './head-activation';
import type { Network } from './network';

export type Prediction =
  | {
      readonly task: 'cls';
      readonly link: string;
      /** Output 0 as a logit (its log-odds where the head ends in a softmax or sigmoid). */
      readonly logit: number;
      /** Output 0's probability. */
      readonly score: number;
      /** A head with several outputs: every class's probability, in output order. */
      readonly classes?: readonly ClassScore[];
    }
  | {
      readonly task: 'seg';
      readonly link: string;
      readonly foreground: number;
      readonly mask: string;
      readonly overlay: string;
      /** Per output channel (one per class of a multi-class head): presence and regions. */
      readonly classes: readonly ClassPrediction[];
    };

/** One output of a multi-class cls head: its name and probability. */
export interface ClassScore {
  readonly output: number;
  readonly name: string;
  readonly probability: number;
}

/** One channel of a seg output: its name, strongest evidence, share of pixels and regions. */
export interface ClassPrediction {
  readonly channel: number;
  readonly name: string;
  /** sigmoid of the largest logit: how sure the network is that the class is somewhere. */
  readonly peak: number;
  readonly foreground: number;
  /** Bounding boxes [x, y, w, h] of the mask's connected regions, in input pixels, largest first. */
  readonly boxes: readonly (readonly [number, number, number, number])[];
  /**
   * Local maxima (3×3) with probability ≥ PEAK_THRESHOLD, as [x, y, probability], strongest first
   * (at most 10): object centres for heads that draw a peak per object, as detectors' heat maps do.
   */
  readonly centres: readonly (readonly [number, number, number])[];
}

/** The probability from which a local maximum counts as an object centre (CenterNet's usual 0.3). */
export const PEAK_THRESHOLD = 0.3;

/** Local maxima of one channel of HWC logits with sigmoid ≥ threshold, strongest first. */
export function channelCentres(
  values: ArrayLike<number>,
  size: number,
  channels: number,
  k: number,
  threshold = PEAK_THRESHOLD,
): [number, number, number][] {
  const at = (x: number, y: number) => values[(y * size + x) * channels + k]!;
  const floor = Math.log(threshold / (1 - threshold));
  const out: [number, number, number][] = [];
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      const v = at(x, y);
      if (!(v >= floor)) continue;
      // A neighbour beats this pixel when it is larger, or equal and earlier in scan order: a
      // plateau (bilinear up-sampling makes them at the edges) gives one centre, not many.
      let top = true;
      for (let dy = -1; dy <= 1 && top; dy++)
        for (let dx = -1; dx <= 1; dx++) {
          const [nx, ny] = [x + dx, y + dy];
          if (!(dx || dy) || nx < 0 || ny < 0 || nx >= size || ny >= size) continue;
          const n = at(nx, ny);
          if (n > v || (n === v && (dy < 0 || (dy === 0 && dx < 0)))) {
            top = false;
            break;
          }
        }
      if (top) out.push([x, y, 1 / (1 + Math.exp(-v))]);
    }
  return out.sort((a, b) => b[2] - a[2]).slice(0, 10);
}

/** Colours of channels in overlays: red first (the one-channel case), then distinct hues. */
const COLOURS: readonly (readonly [number, number, number])[] = [
  [255, 0, 0],
  [0, 160, 255],
  [255, 200, 0],
  [0, 200, 80],
  [200, 0, 255],
  [255, 110, 0],
  [0, 255, 230],
  [255, 0, 140],
];

/** Regions smaller than this share of the image get no box. */
const MIN_REGION = 0.002;

/** Connected regions (4-neighbourhood) of a binary mask, as boxes, largest first. */
export function regionBoxes(
  mask: Uint8Array,
  size: number,
  min = MIN_REGION,
): [number, number, number, number][] {
  const seen = new Uint8Array(mask.length);
  const boxes: { box: [number, number, number, number]; area: number }[] = [];
  const stack: number[] = [];
  for (let start = 0; start < mask.length; start++) {
    if (!mask[start] || seen[start]) continue;
    let [x0, y0, x1, y1, area] = [size, size, 0, 0, 0];
    seen[start] = 1;
    stack.push(start);
    while (stack.length > 0) {
      const i = stack.pop()!;
      const x = i % size;
      const y = (i - x) / size;
      area++;
      x0 = Math.min(x0, x);
      y0 = Math.min(y0, y);
      x1 = Math.max(x1, x);
      y1 = Math.max(y1, y);
      for (const j of [x > 0 ? i - 1 : -1, x < size - 1 ? i + 1 : -1, i - size, i + size])
        if (j >= 0 && j < mask.length && mask[j] && !seen[j]) {
          seen[j] = 1;
          stack.push(j);
        }
    }
    if (area >= min * mask.length) boxes.push({ box: [x0, y0, x1 - x0 + 1, y1 - y0 + 1], area });
  }
  return boxes.sort((a, b) => b.area - a.area).map((b) => b.box);
}

/**
 * The image resized to the network's square input (whole frame, `resizeLinear`: the hub's run
 * page resizes with the same function, so a photo gives the same input there), in [0, 1].
 */
async function loadInput(path: string, size: number): Promise<{ image: RgbImage; tensor: tf.Tensor4D }> {
  const decoded = await decodeImage(path);
  const image = {
    width: size,
    height: size,
    rgb: resizeLinear(decoded.rgb, decoded.width, decoded.height, 3, size),
  };
  const tensor = tf.tidy(
    () => tf.div(tf.tensor4d(image.rgb, [1, size, size, 3], 'float32'), 255) as tf.Tensor4D,
  );
  return { image, tensor };
}

/**
 * The image with each channel's mask tinted in its colour and its regions boxed, enlarged
 * (nearest) so that a 64-pixel input is easy to see.
 */
function overlay(
  image: RgbImage,
  masks: readonly Uint8Array[],
  boxes: readonly (readonly (readonly number[])[])[],
): RgbImage {
  const scale = Math.max(1, Math.floor(256 / image.width));
  const width = image.width * scale;
  const height = image.height * scale;
  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const src = Math.floor(y / scale) * image.width + Math.floor(x / scale);
      const k = masks.findIndex((m) => m[src]! > 0);
      for (let c = 0; c < 3; c++) {
        const v = image.rgb[src * 3 + c]!;
        rgb[(y * width + x) * 3 + c] =
          k >= 0 ? Math.round(0.45 * v + 0.55 * COLOURS[k % COLOURS.length]![c]!) : v;
      }
    }
  }
  // Boxes only where there are several classes: one red mask needs no frame.
  if (masks.length > 1)
    boxes.forEach((list, k) => {
      const colour = COLOURS[k % COLOURS.length]!;
      for (const [bx, by, bw, bh] of list) {
        const [l, t, r, b] = [bx! * scale, by! * scale, (bx! + bw!) * scale - 1, (by! + bh!) * scale - 1];
        for (let x = Math.max(0, l); x <= Math.min(width - 1, r); x++)
          for (const y of [t, t + 1, b - 1, b])
            if (y >= 0 && y < height) rgb.set(colour, (y * width + x) * 3);
        for (let y = Math.max(0, t); y <= Math.min(height - 1, b); y++)
          for (const x of [l, l + 1, r - 1, r]) if (x >= 0 && x < width) rgb.set(colour, (y * width + x) * 3);
      }
    });
  return { width, height, rgb };
}

export interface PredictImageOptions {
  readonly network: Network;
  /** The link run (its category module gives the input size). */
  readonly link: { readonly category: string; readonly task: string };
  /** A JPEG or PNG, resized (linear, anti-aliased, whole frame: `resizeLinear`) to the network input. */
  readonly image: string;
  /** seg: the overlay PNG to write (default `<image>.<task>.png`; the mask goes next to it as `….mask.png`). */
  readonly out?: string;
}

/**
 * Runs one link on one image file (its tensors freed): cls gives output 0's logit and probability,
 * and every class's probability for a head with several outputs; seg thresholds the logits at 0 and writes the mask and an overlay PNG.
 */
export async function predictImage(options: PredictImageOptions): Promise<Prediction> {
  const { network, link } = options;
  const path = resolve(options.image);
  const out = options.out === undefined ? undefined : resolve(options.out);
  const task = network.module(link.task).task;
  if (task === undefined)
    throw new TransplantError('E_INVALID_ARGUMENT', `${link.task} is not a task module`, {
      operation: 'predict',
    });
  const size = network.module(link.category).ports.input.shape[1]!;
  const { image, tensor } = await loadInput(path, size);
  const logits = network.run(link.category, link.task, tensor);
  const values = logits.dataSync().slice();
  tf.dispose([tensor, logits]);
  const name = `${link.category} → ${link.task}`;
  const output = TASKS[task].output;
  switch (output) {
    case 'logits':
      return clsPrediction(
        Array.from(values),
        headActivation(network.module(link.task)),
        outputLabels(network.module(link.task).options),
        name,
      );
    case 'mask-logits':
      return writeMask({
        values,
        channels: network.module(link.task).ports.output.channels,
        labels: outputLabels(network.module(link.task).options),
        image,
        size,
        path,
        out,
        link: link.task,
        name,
      });
    default:
      throw new Error(`no prediction for task output ${output satisfies never}`);
  }
}

/**
 * cls: the probabilities the head's outputs stand for. Transplant's heads output logits: one is
 * "category vs rest" (a sigmoid), several are classes (a softmax). An imported head that already
 * ends in a softmax or a sigmoid outputs probabilities, which are taken as they are.
 */
export function clsPrediction(
  values: readonly number[],
  activation: HeadActivation,
  labels: readonly string[],
  link: string,
): Prediction {
  const probabilities =
    activation !== 'none'
      ? values
      : values.length === 1
        ? [1 / (1 + Math.exp(-values[0]!))]
        : softmax(values);
  const p0 = probabilities[0]!;
  const logit = activation === 'none' && values.length === 1 ? values[0]! : Math.log(p0) - Math.log1p(-p0);
  if (values.length === 1) return { task: 'cls', link, logit, score: p0 };
  return {
    task: 'cls',
    link,
    logit,
    score: p0,
    classes: probabilities.map((probability, output) => ({
      output,
      name: labels[output] ?? `output ${output}`,
      probability,
    })),
  };
}

function softmax(values: readonly number[]): number[] {
  const top = Math.max(...values);
  const e = values.map((v) => Math.exp(v - top));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

/** Class names a task module's options carry for its output channels (imported heads), if any. */
function outputLabels(options: unknown): readonly string[] {
  const labels = (options as { outputLabels?: unknown } | undefined)?.outputLabels;
  return Array.isArray(labels) && labels.every((l) => typeof l === 'string') ? labels : [];
}

interface MaskOutput {
  readonly values: Float32Array | Int32Array | Uint8Array;
  readonly channels: number;
  readonly labels: readonly string[];
  readonly image: RgbImage;
  readonly size: number;
  readonly path: string;
  readonly out: string | undefined;
  readonly link: string;
  readonly name: string;
}

/**
 * seg: thresholds the logits at 0 per channel; writes the mask (the union of the channels) and
 * an overlay PNG (a colour per channel, boxes around each channel's regions when there are several).
 */
async function writeMask({
  values,
  channels,
  labels,
  image,
  size,
  path,
  out,
  link,
  name,
}: MaskOutput): Promise<Prediction> {
  // Plain loops: mapping Uint8Array.from is slow at 512 × 512 × K.
  const masks = Array.from({ length: channels }, () => new Uint8Array(size * size));
  const union = new Uint8Array(size * size);
  for (let i = 0; i < size * size; i++)
    for (let k = 0; k < channels; k++)
      if (values[i * channels + k]! > 0) {
        masks[k]![i] = 255;
        union[i] = 255;
      }
  const classes = masks.map((m, k): ClassPrediction => {
    let peak = -Infinity;
    for (let i = 0; i < size * size; i++) peak = Math.max(peak, values[i * channels + k]!);
    return {
      channel: k,
      name: labels[k] ?? `channel ${k}`,
      peak: 1 / (1 + Math.exp(-peak)),
      foreground: m.filter((v) => v > 0).length / m.length,
      boxes: regionBoxes(m, size),
      centres: channels > 1 ? channelCentres(values, size, channels, k) : [],
    };
  });
  const overlayPath = out ?? `${path.replace(/\.[^./]+$/, '')}.${link}.png`;
  const maskPath = overlayPath.replace(/\.png$/i, '') + '.mask.png';
  await writeFile(maskPath, await encodeGreyPng(union, size, size));
  await writeFile(
    overlayPath,
    await encodePng(
      overlay(
        image,
        masks,
        // Regions, and a small square around each centre.
        classes.map((c) => [...c.boxes, ...c.centres.map(([x, y]) => [x - 6, y - 6, 13, 13] as const)]),
      ),
    ),
  );
  return {
    task: 'seg',
    link: name,
    foreground: union.filter((v) => v > 0).length / union.length,
    mask: maskPath,
    overlay: overlayPath,
    classes,
  };
}

/** One line for a prediction, per task. */
export function formatPrediction(result: Prediction): string {
  switch (result.task) {
    case 'cls': {
      if (!result.classes)
        return `${result.link}: score ${result.score.toFixed(4)} (logit ${result.logit.toFixed(3)})`;
      const ranked = [...result.classes].sort((a, b) => b.probability - a.probability);
      return [
        `${result.link}: ${ranked[0]!.name} (${ranked[0]!.probability.toFixed(4)})`,
        ...ranked.map(
          (c) =>
            `  ${c.name === `output ${c.output}` ? c.name : `${c.output} ${c.name}`}: ${c.probability.toFixed(4)}`,
        ),
      ].join('\n');
    }
    case 'seg':
      return [
        `${result.link}: ${(result.foreground * 100).toFixed(1)}% of pixels; overlay ${result.overlay}, mask ${result.mask}`,
        ...(result.classes.length > 1
          ? result.classes.map((c) => {
              const centres = c.centres.map(([x, y, p]) => `(${x},${y}) ${p.toFixed(2)}`).join(' ');
              const regions =
                c.boxes.length > 0
                  ? `, regions ${c.boxes
                      .slice(0, 3)
                      .map((b) => `[${b.join(',')}]`)
                      .join(' ')}`
                  : '';
              return `  ${c.name}: peak ${c.peak.toFixed(3)}, ${(c.foreground * 100).toFixed(1)}% of pixels${c.centres.length > 0 ? `, centres ${centres}` : ''}${regions}`;
            })
          : []),
      ].join('\n');
    default:
      return result satisfies never;
  }
}
