import { writeFileWhole } from '@transplant/core';
import { resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { Network } from '@transplant/composer';
import { cropResize, decodeImage, encodePng } from '@transplant/data';
import { rgbTensor } from '@transplant/interpretable';
import type { Explanation, FilterGroup } from './explain';
import { performerOf, type Explainer } from './explainer';

export interface ExplainImageOptions {
  /** The performer: a network and the link it explains. */
  readonly network: Network;
  readonly link: { readonly category: string; readonly task: string };
  /** A trained explainer of that performer, and its explanation (which filter is in which group). */
  readonly explainer: Explainer;
  readonly explanation: Explanation;
  /** A JPEG or PNG, resized (whole frame) to the network input. */
  readonly file: string;
  /** Also write the resized image here (PNG). */
  readonly png?: string;
  /** The output explained (`PerformerOptions.output`), as the explainer was trained for. */
  readonly output?: number | string;
}

export interface ImageExplanationReport {
  readonly file: string;
  /** The performer's logit of the explained output on the image (`ExplainedOutput`). */
  readonly logit: number;
  /** Each group's share of the image's interpretable contributions, largest first. */
  readonly groups: { group: FilterGroup; share: number }[];
}

/** Which part groups carried the interpretable part of one image's prediction. */
export async function explainImage(options: ExplainImageOptions): Promise<ImageExplanationReport> {
  const { network, link, explainer } = options;
  const performer = performerOf(
    network,
    link,
    options.output === undefined ? {} : { output: options.output },
  );
  const size = network.module(link.category).ports.input.shape[1]!;
  const decoded = await decodeImage(resolve(options.file));
  const picture = await cropResize(
    decoded,
    { left: 0, top: 0, width: decoded.width, height: decoded.height },
    size,
  );
  const { logit, shares } = tf.tidy(() => {
    const x = performer.features(rgbTensor([picture], size));
    return {
      logit: performer.upper(performer.higher(x)).dataSync()[0]!,
      shares: explainer.contributions(x).dataSync(),
    };
  });
  const perGroup = new Map<FilterGroup, number>();
  let total = 0;
  for (const r of options.explanation.filters) {
    perGroup.set(r.group, (perGroup.get(r.group) ?? 0) + shares[r.filter]!);
    total += shares[r.filter]!;
  }
  if (options.png) await writeFileWhole(options.png, await encodePng(picture), 'explain');
  return {
    file: resolve(options.file),
    logit,
    groups: [...perGroup.entries()]
      .map(([group, s]) => ({ group, share: total > 0 ? s / total : 0 }))
      .sort((a, b) => b.share - a.share)
      .slice(0, explainer.options.filters),
  };
}
