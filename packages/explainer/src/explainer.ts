import * as tf from '@tensorflow/tfjs';
import { headActivation, type HeadActivation, type ModuleInstance, type Network } from '@transplant/composer';
import { PartMask, TransplantError, type PartMaskMode } from '@transplant/core';
import { cellGeometry, findLayer, type CellGeometry } from '@transplant/interpretable';

/**
 * A frozen performer cut in three (docs/methods.md §5.2): `features` (the explained layer x: the
 * category module's output), `higher` (the performer's next layer, whose output y the explainer
 * reconstructs: the task module's first layer) and `upper` (the rest, which consumes y or ŷ).
 */
export interface Performer {
  readonly network: Network;
  readonly link: { readonly category: string; readonly task: string };
  /** Module-local name of the task-module layer whose output is y. */
  readonly split: string;
  /** [h, w, C] of x and of y. */
  readonly xShape: readonly [number, number, number];
  readonly yShape: readonly [number, number, number];
  /** Where x's cells sit in the image. */
  readonly geometry: CellGeometry;
  /** The one number per image `upper` gives: which output of the head, and how it is read. */
  readonly explained: ExplainedOutput;
  features(images: tf.Tensor4D): tf.Tensor4D;
  higher(x: tf.Tensor4D): tf.Tensor4D;
  /** The performer's logit of the explained output, [B, 1] (see `ExplainedOutput`). */
  upper(y: tf.Tensor4D): tf.Tensor;
}

/** How the last layer of a classifier's head squashes its outputs. */

/**
 * The output of a classifier the explainer explains (docs/methods.md §5.2): one logit per image.
 * A one-output head gives it as it is (its logit; log p − log(1 − p) if it ends in a sigmoid).
 * A head with K ≥ 2 outputs explains one class k, chosen by the caller, through its log-odds
 * against the other classes, log P(k) − log P(not k): from softmax probabilities
 * log p_k − log Σ_{j≠k} p_j, from logits z_k − logsumexp_{j≠k} z_j (the same number), from
 * independent sigmoids log p_k − log(1 − p_k). It is > 0 exactly when the head gives class k more
 * than half the probability, so every "logit > 0" rule (the positives of the filter loss,
 * fidelity) reads "the performer calls it class k".
 */
export interface ExplainedOutput {
  /** The output explained (0 for a one-output head). */
  readonly index: number;
  /** The head's outputs K. */
  readonly outputs: number;
  /** The output's name, when the head names its outputs. */
  readonly label?: string;
  readonly activation: HeadActivation;
  /** In words, for reports: "output 2 of 5 (Neutral), log-odds from the softmax". */
  readonly describe: string;
}

export interface PerformerOptions {
  /** Module-local name of the task-module layer whose output is y (default: its first conv layer). */
  readonly split?: string;
  /** The output explained: an index, or a name of the head's output labels (required when K ≥ 2). */
  readonly output?: number | string;
}

const own = (m: ModuleInstance) => m.model.layers.filter((l) => l.getClassName() !== 'InputLayer');

const invalid = (message: string) =>
  new TransplantError('E_INVALID_ARGUMENT', message, { operation: 'explain' });

/** Which output of `task` is explained, and how it becomes one logit (`ExplainedOutput`). */
export function explainedOutput(task: ModuleInstance, output?: number | string): ExplainedOutput {
  const shape = task.ports.output.shape;
  if (shape.length !== 2 || !(shape[1]! >= 1))
    throw invalid(
      `${task.name} outputs [${shape.map((d) => d ?? 'null').join(', ')}]; the explainer explains a classifier, whose head outputs [null, K]`,
    );
  const outputs = shape[1]!;
  const labels = (task.options as { outputLabels?: unknown } | undefined)?.outputLabels;
  const names = Array.isArray(labels) && labels.length === outputs ? labels.map(String) : [];
  const listed =
    Array.from({ length: Math.min(outputs, 12) }, (_, k) =>
      names[k] ? `${k} (${names[k]})` : String(k),
    ).join(', ') + (outputs > 12 ? ', …' : '');
  const activation = headActivation(task);
  if (outputs === 1 && activation === 'softmax')
    throw invalid(`${task.name} ends in a softmax over one output (always 1): there is nothing to explain`);
  let index: number;
  if (output === undefined) {
    if (outputs > 1)
      throw invalid(
        `${task.name} has ${outputs} outputs; choose the class whose log-odds is explained: ${listed}`,
      );
    index = 0;
  } else if (typeof output === 'number') {
    if (!Number.isInteger(output) || output < 0 || output >= outputs)
      throw invalid(`${task.name} has no output ${output}; its outputs are 0–${outputs - 1}: ${listed}`);
    index = output;
  } else {
    index = names.indexOf(output);
    if (index < 0)
      throw invalid(
        names.length > 0
          ? `${task.name} has no output named "${output}"; its outputs: ${listed}`
          : `${task.name} does not name its outputs; choose one by index, 0–${outputs - 1}`,
      );
  }
  const label = names[index];
  const how =
    outputs === 1
      ? activation === 'sigmoid'
        ? 'log-odds from the sigmoid'
        : 'the logit'
      : activation === 'softmax'
        ? 'log-odds from the softmax'
        : activation === 'sigmoid'
          ? 'log-odds from its sigmoid'
          : 'log-odds of the softmax of the logits';
  return {
    index,
    outputs,
    ...(label !== undefined ? { label } : {}),
    activation,
    describe: `output ${index} of ${outputs}${label !== undefined ? ` (${label})` : ''}, ${how}`,
  };
}

/** The floor under probabilities before their log (float32 probabilities underflow to 0). */
const TINY = 1e-30;

/** The head's outputs [B, K] → the explained output's logit [B, 1] (see `ExplainedOutput`). */
export function explainedLogit(out: tf.Tensor, explained: ExplainedOutput): tf.Tensor2D {
  return tf.tidy(() => {
    const { index: k, outputs, activation } = explained;
    const v = tf.reshape(out, [-1, outputs]) as tf.Tensor2D;
    const column = tf.slice(v, [0, k], [-1, 1]);
    if (outputs === 1 || activation === 'sigmoid') {
      if (activation === 'none') return column as tf.Tensor2D;
      return tf.sub(tf.log(tf.add(column, TINY)), tf.log(tf.add(tf.sub(1, column), TINY))) as tf.Tensor2D;
    }
    const others = tf.concat(
      [tf.slice(v, [0, 0], [-1, k]), tf.slice(v, [0, k + 1], [-1, outputs - k - 1])].filter(
        (t) => t.shape[1]! > 0,
      ),
      1,
    );
    if (activation === 'softmax')
      return tf.sub(
        tf.log(tf.add(column, TINY)),
        tf.log(tf.add(tf.sum(others, 1, true), TINY)),
      ) as tf.Tensor2D;
    return tf.sub(column, tf.logSumExp(others, 1, true)) as tf.Tensor2D;
  });
}

/**
 * Cuts a network's link after its category module and after the task module's first conv layer
 * (or `split`); `upper` gives the logit of the explained output (`output`; see `ExplainedOutput`).
 */
export function performerOf(
  network: Network,
  link: { category: string; task: string },
  options: PerformerOptions = {},
): Performer {
  const { split } = options;
  const category = network.module(link.category);
  const task = network.module(link.task);
  const explained = explainedOutput(task, options.output);
  const layers = own(task);
  const at = split
    ? layers.findIndex((l) => l.name === task.prefix + split || l.name === split)
    : layers.findIndex((l) => l.getClassName() === 'Conv2D');
  if (at < 0 || at === layers.length - 1) {
    throw new TransplantError(
      'E_INVALID_ARGUMENT',
      `${task.name} has ${split ? `no layer "${split}"` : 'no conv layer'} with layers above it to reconstruct; its layers: ${layers.map((l) => l.name.slice(task.prefix.length)).join(', ')}`,
      { operation: 'explain' },
    );
  }
  const yLayer = layers[at]!;
  const yShape = (yLayer.getOutputAt(0) as tf.SymbolicTensor).shape;
  if (yShape.length !== 4)
    throw new TransplantError(
      'E_INVALID_ARGUMENT',
      `${yLayer.name} does not output a feature map; pass a conv layer of ${task.name}`,
      { operation: 'explain' },
    );
  const xShape = category.ports.output.shape;
  const lastCategoryLayer = own(category).at(-1)!;
  const geometry = cellGeometry(
    findLayer(network, link, `${category.name}:${lastCategoryLayer.name.slice(category.prefix.length)}`),
  );
  const run = (from: number, to: number, t: tf.Tensor) =>
    layers.slice(from, to).reduce((v, l) => l.apply(v) as tf.Tensor, t);
  return {
    network,
    link,
    split: yLayer.name.slice(task.prefix.length),
    xShape: [xShape[1]!, xShape[2]!, xShape[3]!],
    yShape: [yShape[1]!, yShape[2]!, yShape[3]!],
    geometry,
    explained,
    features: (images) => tf.tidy(() => category.model.predict(images) as tf.Tensor4D),
    higher: (x) => tf.tidy(() => run(0, at + 1, x) as tf.Tensor4D),
    upper: (y) => tf.tidy(() => explainedLogit(run(at + 1, layers.length, y), explained)),
  };
}

export interface ExplainerOptions {
  /** Filters of each track. */
  readonly filters: number;
  readonly mask: PartMaskMode;
  readonly seed: number;
  /** The gate's initial weight (it stays there unless −η·log p trains it). */
  readonly p0: number;
}

export const EXPLAINER_DEFAULTS: ExplainerOptions = { filters: 32, mask: 'argmax', seed: 1, p0: 0.5 };

/** x̂ = x / rms(x) per image: both tracks enter the fusion at the same scale, so p is a share. */
export function unitRms(x: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(
    () => tf.div(x, tf.sqrt(tf.add(tf.mean(tf.square(x), [1, 2, 3], true), 1e-6))) as tf.Tensor4D,
  );
}

export interface Forward {
  /** The interpretable track's masked maps (before normalisation), [B, h, w, F]. */
  readonly interpretable: tf.Tensor4D;
  readonly ordinary: tf.Tensor4D;
  /** The fused code g·x̂_int + (1 − g)·x̂_ord. */
  readonly fused: tf.Tensor4D;
  /** The gate g. */
  readonly p: tf.Scalar;
  /** The reconstruction ŷ of the performer's higher features. */
  readonly reconstruction: tf.Tensor4D;
}

/**
 * The explainer (docs/methods.md §5.2, every open choice written down): an interpretable track
 * (conv 3×3 + ReLU + the part mask, trained with the filter loss) and an ordinary track
 * (conv 3×3 + ReLU), each normalised to unit RMS per image, fused as g·x̂_int + (1 − g)·x̂_ord
 * with a gate g = sigmoid(θ); the decoder mirrors the performer's next layer (a 3×3 conv + ReLU
 * to y's channels). The paper's p is the learned gate; trained with −η·log p it only counted
 * steps (docs/methods.md §5.3), so the gate now stays at p0 unless η > 0, and p is measured
 * after training by `reconstructionShare`. The normalisation keeps both tracks at one scale, so
 * neither wins by the size of its activations.
 */
export class Explainer {
  readonly interpretable: tf.Sequential;
  readonly ordinary: tf.Sequential;
  readonly decoder: tf.Sequential;
  readonly mask: PartMask;
  readonly theta: tf.Variable<tf.Rank.R0>;
  /**
   * ŷ = scale · decoder(code). Set to the RMS of the performer's y over the training pool
   * (`featurePool` gives it), so that every performer starts at its own scale: otherwise a
   * performer with large activations (a shuffled one, a masked one) spends its first hundreds of
   * steps growing the decoder, and p would measure that scale, not the features.
   */
  scale = 1;

  constructor(
    readonly xShape: readonly [number, number, number],
    readonly yShape: readonly [number, number, number],
    readonly options: ExplainerOptions = EXPLAINER_DEFAULTS,
  ) {
    const { filters, seed } = options;
    const conv = (name: string, out: number, s: number, inputShape?: readonly number[]) =>
      tf.layers.conv2d({
        name,
        filters: out,
        kernelSize: 3,
        padding: 'same',
        activation: 'relu',
        kernelInitializer: tf.initializers.heNormal({ seed: s }),
        ...(inputShape ? { inputShape: [...inputShape] } : {}),
      });
    this.mask = new PartMask({ name: 'interpretable_mask', mode: options.mask });
    this.interpretable = tf.sequential({
      layers: [conv('interpretable_conv', filters, seed, xShape), this.mask],
    });
    this.ordinary = tf.sequential({ layers: [conv('ordinary_conv', filters, seed + 1, xShape)] });
    this.decoder = tf.sequential({
      layers: [conv('decoder_conv', yShape[2], seed + 2, [xShape[0], xShape[1], filters])],
    });
    // The scalar is a temporary: the variable keeps its own copy.
    this.theta = tf.tidy(() => tf.variable(tf.scalar(Math.log(options.p0 / (1 - options.p0))), true));
  }

  /**
   * Every trainable variable: both tracks and the decoder, and θ when `gate` (only the paper's
   * −η·log p term trains it; with η = 0 the gate stays at p0).
   */
  variables({ gate = true }: { readonly gate?: boolean } = {}): tf.Variable[] {
    return [
      ...this.interpretable.trainableWeights,
      ...this.ordinary.trainableWeights,
      ...this.decoder.trainableWeights,
    ]
      .map((w) => w.read() as tf.Variable)
      .concat(gate ? [this.theta] : []);
  }

  /** The gate weight sigmoid(θ) of the fusion (not the measured p: see `reconstructionShare`). */
  gate(): number {
    return tf.tidy(() => tf.sigmoid(this.theta).dataSync()[0]!);
  }

  /**
   * The measured p (docs/methods.md §5.3): on held-out features x → y, how much of the
   * reconstruction the interpretable track achieves alone. Each track can be replaced by its mean
   * code over the images (mean ablation: the decoder keeps its usual input level, the track's
   * information is gone); with e(·) the error ‖ŷ − y‖² / var(y) of the decoder's output,
   *
   *   p = (e(neither) − e(interpretable only)) / (e(neither) − e(both)),
   *
   * clamped to [0, 1], and 0 when the explainer reconstructs nothing (e(both) ≥ e(neither)).
   * Also returns the four errors.
   */
  reconstructionShare(
    x: tf.Tensor4D,
    y: tf.Tensor4D,
  ): { p: number; both: number; interpretable: number; ordinary: number; neither: number } {
    const [both, interpretable, ordinary, neither] = tf.tidy(() => {
      const f = this.forward(x);
      const codes = [tf.mul(f.p, unitRms(f.interpretable)), tf.mul(tf.sub(1, f.p), unitRms(f.ordinary))];
      const means = codes.map((c) => tf.broadcastTo(tf.mean(c, 0, true), c.shape));
      const variance = tf.moments(y).variance;
      const error = (a: tf.Tensor, b: tf.Tensor) =>
        tf.div(tf.mean(tf.square(tf.sub(this.decode(tf.add(a, b) as tf.Tensor4D), y))), variance);
      return tf
        .stack([
          error(codes[0]!, codes[1]!),
          error(codes[0]!, means[1]!),
          error(means[0]!, codes[1]!),
          error(means[0]!, means[1]!),
        ])
        .arraySync() as number[];
    });
    const gain = neither! - both!;
    const p = gain > 0 ? Math.min(1, Math.max(0, (neither! - interpretable!) / gain)) : 0;
    return { p, both: both!, interpretable: interpretable!, ordinary: ordinary!, neither: neither! };
  }

  /** ŷ of a fused code: scale · decoder(code). */
  decode(code: tf.Tensor4D, { training = false }: { readonly training?: boolean } = {}): tf.Tensor4D {
    return tf.tidy(
      () => tf.mul(this.decoder.apply(code, { training }) as tf.Tensor, this.scale) as tf.Tensor4D,
    );
  }

  /** The caller owns the returned tensors (call inside a tidy, or dispose them). */
  forward(x: tf.Tensor4D, { training = false }: { readonly training?: boolean } = {}): Forward {
    return tf.tidy(() => {
      const interpretable = this.interpretable.apply(x, { training }) as tf.Tensor4D;
      const ordinary = this.ordinary.apply(x, { training }) as tf.Tensor4D;
      const p = tf.sigmoid(this.theta) as tf.Scalar;
      const fused = tf.add(
        tf.mul(p, unitRms(interpretable)),
        tf.mul(tf.sub(1, p), unitRms(ordinary)),
      ) as tf.Tensor4D;
      const reconstruction = this.decode(fused, { training });
      return { interpretable, ordinary, fused, p, reconstruction };
    });
  }

  /**
   * How much each filter of each track puts into the reconstruction, per image: the decoder's
   * pre-activation is Σ_f W_f ∗ (p·x̂_int,f) + Σ_f W_f ∗ ((1 − p)·x̂_ord,f) + b, and component k's
   * share is Σ_{cells, outputs} |its term| over the sum for all 2F components (the bias is not
   * information from x). Returns [B, 2F] (interpretable filters first), rows summing to 1.
   */
  contributions(x: tf.Tensor4D): tf.Tensor2D {
    return tf.tidy(() => this.accounting(this.forward(x)).features);
  }

  /**
   * How much each filter of each track moves the performer's decision, per image: the upper
   * layers' logit gradient g at ŷ, and filter k's term z_k of the decoder's pre-activation where
   * its ReLU passes; k's attribution is Σ_{cells, outputs} g·z_k (a first-order share of the
   * logit), its share |attribution_k| over the sum for all 2F components. [B, 2F], rows summing
   * to 1. `upper` maps ŷ to the performer's logits (one per image).
   */
  decisionContributions(x: tf.Tensor4D, upper: (y: tf.Tensor4D) => tf.Tensor): tf.Tensor2D {
    return tf.tidy(() => this.accounting(this.forward(x), upper).decision!);
  }

  /**
   * Both shares from one forward pass (see `contributions` and `decisionContributions`): each
   * filter's decoder terms are computed once, by a depthwise convolution with the decoder's
   * kernel (multiplier C_y: output channel f·C_y + o is filter f's term for output o).
   * Call it inside a tidy: it returns intermediate tensors to the caller's scope.
   */
  accounting(
    f: Forward,
    upper?: (y: tf.Tensor4D) => tf.Tensor,
  ): { features: tf.Tensor2D; decision?: tf.Tensor2D } {
    const kernel = this.decoder.layers[0]!.getWeights()[0]! as tf.Tensor4D; // [3, 3, F, Cy]
    const cy = this.yShape[2];
    const terms = [tf.mul(f.p, unitRms(f.interpretable)), tf.mul(tf.sub(1, f.p), unitRms(f.ordinary))].map(
      (code) => {
        const t = tf.depthwiseConv2d(code as tf.Tensor4D, kernel, 1, 'same');
        const [b, h, w] = t.shape;
        return tf.reshape(t, [b, h, w, this.options.filters, cy]);
      },
    );
    const share = (per: tf.Tensor[]) => {
      const all = tf.concat(per, 1);
      return tf.div(all, tf.add(tf.sum(all, 1, true), 1e-12)) as tf.Tensor2D;
    };
    const features = share(terms.map((t) => tf.sum(tf.abs(t), [1, 2, 4])));
    if (!upper) return { features };
    const gradient = tf.grad((y: tf.Tensor) => tf.sum(upper(y as tf.Tensor4D)))(f.reconstruction);
    const [b, h, w] = f.reconstruction.shape;
    const passed = tf.reshape(tf.mul(gradient, tf.cast(tf.greater(f.reconstruction, 0), 'float32')), [
      b,
      h,
      w,
      1,
      cy,
    ]);
    return { features, decision: share(terms.map((t) => tf.abs(tf.sum(tf.mul(t, passed), [1, 2, 4])))) };
  }

  dispose(): void {
    this.interpretable.dispose();
    this.ordinary.dispose();
    this.decoder.dispose();
    this.theta.dispose();
  }
}
