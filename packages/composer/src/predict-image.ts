import { resolve } from 'node:path';
import { writeFile } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs';
import { TASKS, TransplantError } from '@transplant/core';
import { cropResize, decodeImage, encodeGreyPng, encodePng, type RgbImage } from '@transplant/data';
import type { Network } from './network';

export type Prediction =
  | { readonly task: 'cls'; readonly link: string; readonly logit: number; readonly score: number }
  | {
      readonly task: 'seg';
      readonly link: string;
      readonly foreground: number;
      readonly mask: string;
      readonly overlay: string;
    };

/** The image resized (bilinear, whole frame) to the network's square input, in [0, 1]. */
async function loadInput(path: string, size: number): Promise<{ image: RgbImage; tensor: tf.Tensor4D }> {
  const decoded = await decodeImage(path);
  const image = await cropResize(
    decoded,
    { left: 0, top: 0, width: decoded.width, height: decoded.height },
    size,
  );
  const tensor = tf.tidy(
    () => tf.div(tf.tensor4d(image.rgb, [1, size, size, 3], 'float32'), 255) as tf.Tensor4D,
  );
  return { image, tensor };
}

/** The image with the mask tinted red, enlarged (nearest) so that a 64-pixel input is easy to see. */
function overlay(image: RgbImage, mask: Uint8Array): RgbImage {
  const scale = Math.max(1, Math.floor(256 / image.width));
  const width = image.width * scale;
  const height = image.height * scale;
  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const src = Math.floor(y / scale) * image.width + Math.floor(x / scale);
      const on = mask[src]! > 0;
      for (let c = 0; c < 3; c++) {
        const v = image.rgb[src * 3 + c]!;
        rgb[(y * width + x) * 3 + c] = on ? Math.round(0.45 * v + 0.55 * (c === 0 ? 255 : 0)) : v;
      }
    }
  }
  return { width, height, rgb };
}

export interface PredictImageOptions {
  readonly network: Network;
  /** The link run (its category module gives the input size). */
  readonly link: { readonly category: string; readonly task: string };
  /** A JPEG or PNG, resized (bilinear, whole frame) to the network input. */
  readonly image: string;
  /** seg: the overlay PNG to write (default `<image>.<task>.png`; the mask goes next to it as `….mask.png`). */
  readonly out?: string;
}

/**
 * Runs one link on one image file (its tensors freed): cls gives the logit and its sigmoid
 * score; seg thresholds the logits at 0 and writes the mask and an overlay PNG.
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
      return { task: 'cls', link: name, logit: values[0]!, score: 1 / (1 + Math.exp(-values[0]!)) };
    case 'mask-logits':
      return writeMask({ values, image, size, path, out, link: link.task, name });
    default:
      throw new Error(`no prediction for task output ${output satisfies never}`);
  }
}

interface MaskOutput {
  readonly values: Float32Array | Int32Array | Uint8Array;
  readonly image: RgbImage;
  readonly size: number;
  readonly path: string;
  readonly out: string | undefined;
  readonly link: string;
  readonly name: string;
}

/** seg: thresholds the logits at 0, writes the mask and the overlay PNGs. */
async function writeMask({ values, image, size, path, out, link, name }: MaskOutput): Promise<Prediction> {
  const mask = Uint8Array.from(values, (v) => (v > 0 ? 255 : 0));
  const overlayPath = out ?? `${path.replace(/\.[^./]+$/, '')}.${link}.png`;
  const maskPath = overlayPath.replace(/\.png$/i, '') + '.mask.png';
  await writeFile(maskPath, await encodeGreyPng(mask, size, size));
  await writeFile(overlayPath, await encodePng(overlay(image, mask)));
  return {
    task: 'seg',
    link: name,
    foreground: mask.filter((v) => v > 0).length / mask.length,
    mask: maskPath,
    overlay: overlayPath,
  };
}

/** One line for a prediction, per task. */
export function formatPrediction(result: Prediction): string {
  switch (result.task) {
    case 'cls':
      return `${result.link}: score ${result.score.toFixed(4)} (logit ${result.logit.toFixed(3)})`;
    case 'seg':
      return `${result.link}: ${(result.foreground * 100).toFixed(1)}% of pixels; overlay ${result.overlay}, mask ${result.mask}`;
    default:
      return result satisfies never;
  }
}
