import * as tf from '@tensorflow/tfjs';

/**
 * How the mask picks each filter's part location μ̂ in a feature map: the cell of the
 * maximum activation (the paper), or the activation-weighted centroid rounded to the nearest
 * cell (the authors' code).
 */
export type PartMaskMode = 'argmax' | 'centroid';
export const PART_MASK_MODES: readonly PartMaskMode[] = ['argmax', 'centroid'];

/** β's initial value (the authors' code), in the mask's coordinates: the map spans [−1, 1]. */
export const PART_MASK_BETA_INIT = 2;

/**
 * Cell coordinates of an n-cell axis in [−1, 1] (MATLAB `linspace(-1, 1, n)`); a 1-cell axis is 0.
 */
export function maskCoordinates(n: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => (n === 1 ? 0 : -1 + (2 * i) / (n - 1)));
}

/**
 * Each image's and filter's part location μ̂ as 0-based [row, column] cells, [B, 1, 1, C] each
 * (float). A map with no activation gets cell 0.
 */
export function partLocations(x: tf.Tensor4D, mode: PartMaskMode): { rows: tf.Tensor4D; cols: tf.Tensor4D } {
  return tf.tidy(() => {
    const [b, h, w, c] = x.shape;
    if (mode === 'argmax') {
      const flat = tf.cast(tf.argMax(tf.reshape(x, [b, h * w, c]), 1), 'float32');
      const rows = tf.floor(tf.div(flat, w));
      const cols = tf.sub(flat, tf.mul(rows, w));
      return { rows: tf.reshape(rows, [b, 1, 1, c]), cols: tf.reshape(cols, [b, 1, 1, c]) };
    }
    const mass = tf.maximum(tf.sum(x, [1, 2], true), 1e-9);
    const rowIndex = tf.reshape(tf.range(0, h, 1, 'float32'), [1, h, 1, 1]);
    const colIndex = tf.reshape(tf.range(0, w, 1, 'float32'), [1, 1, w, 1]);
    const rows = tf.clipByValue(tf.round(tf.div(tf.sum(tf.mul(x, rowIndex), [1, 2], true), mass)), 0, h - 1);
    const cols = tf.clipByValue(tf.round(tf.div(tf.sum(tf.mul(x, colIndex), [1, 2], true), mass)), 0, w - 1);
    return { rows: rows as tf.Tensor4D, cols: cols as tf.Tensor4D };
  });
}

/**
 * The masks of docs/methods.md §2.4 (the authors' `getMask`), [B, H, W, C]:
 * M_ij = max(1 − β_c·(|u_i − u_μ̂| + |v_j − v_μ̂|), −1) with u, v the cell coordinates in
 * [−1, 1] and μ̂ each map's part location. A function of x only through μ̂ (a constant for
 * the gradient).
 */
export function partMasks(x: tf.Tensor4D, beta: tf.Tensor1D, mode: PartMaskMode): tf.Tensor4D {
  return tf.tidy(() => {
    const [, h, w, c] = x.shape;
    const { rows, cols } = partLocations(x, mode);
    const u = maskCoordinates(h);
    const v = maskCoordinates(w);
    const toUnit = (cells: tf.Tensor, n: number) =>
      n === 1 ? tf.zerosLike(cells) : tf.sub(tf.mul(cells, 2 / (n - 1)), 1);
    const du = tf.abs(tf.sub(tf.tensor4d(u, [1, h, 1, 1]), toUnit(rows, h)));
    const dv = tf.abs(tf.sub(tf.tensor4d(v, [1, 1, w, 1]), toUnit(cols, w)));
    const l1 = tf.add(du, dv);
    return tf.maximum(tf.sub(1, tf.mul(l1, tf.reshape(beta, [1, 1, 1, c]))), -1) as tf.Tensor4D;
  });
}

/**
 * max(x ∘ M, 0) with the authors' gradient rule dL/dx = dL/dy ∘ max(M, 0): the mask is a
 * constant of the step (no gradient reaches β or flows through μ̂).
 */
export function applyPartMask(x: tf.Tensor4D, beta: tf.Tensor1D, mode: PartMaskMode): tf.Tensor4D {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [input, b, save] = args as [tf.Tensor4D, tf.Tensor1D, tf.GradSaveFunc];
    const mask = partMasks(input, b, mode);
    save([mask]);
    return {
      value: tf.relu(tf.mul(input, mask)),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [tf.mul(dy, tf.relu(saved[0]!)), tf.zeros(b.shape)],
    };
  });
  return op(x, beta) as tf.Tensor4D;
}

/**
 * A hook a trainer installs on a mask layer for one step: it receives the layer's input x (the
 * conv layer's post-ReLU map, inside the step's gradient tape) and returns the tensor to mask
 * — x itself (after recording it for a filter loss) or a gradient tap that adds the
 * hand-built filter-loss gradient to dL/dx.
 */
export type PartMaskProbe = (x: tf.Tensor4D) => tf.Tensor4D;

export interface PartMaskArgs {
  readonly name: string;
  readonly mode: PartMaskMode;
}

/**
 * The mask of an interpretable conv layer (docs/methods.md §2.4): placed after a conv+ReLU, it
 * keeps each filter's activation around that filter's part location in each image and
 * suppresses it elsewhere. Its weight `beta` (per channel, [C]) sets the mask's width; it is
 * not trained by the optimiser but relaxed toward a target by the trainer (the authors'
 * update), so it is a non-trainable weight that is saved and published with the module.
 * The mask applies in inference too: the next layer always consumes the masked map.
 */
export class PartMask extends tf.layers.Layer {
  static readonly className = 'TransplantPartMask';
  readonly mode: PartMaskMode;
  private betaWeight!: tf.LayerVariable;
  /** Set by a trainer for its steps; used only in training-mode calls. */
  probe: PartMaskProbe | null = null;

  constructor(args: PartMaskArgs) {
    super({ name: args.name });
    this.mode = args.mode;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const channels = shape[shape.length - 1];
    if (typeof channels !== 'number')
      throw new Error(`${this.name}: the channel axis must have a known size`);
    this.betaWeight = this.addWeight(
      'beta',
      [channels],
      'float32',
      tf.initializers.constant({ value: PART_MASK_BETA_INIT }),
      undefined,
      false,
    );
    this.built = true;
  }

  /** The live β variable ([C]); a trainer writes it, callers must not dispose its value. */
  get beta(): tf.LayerVariable {
    return this.betaWeight;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean }): tf.Tensor {
    const x = (Array.isArray(inputs) ? inputs[0]! : inputs) as tf.Tensor4D;
    const input = kwargs.training && this.probe ? this.probe(x) : x;
    return applyPartMask(input, this.betaWeight.read() as tf.Tensor1D, this.mode);
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), mode: this.mode };
  }
}
tf.serialization.registerClass(PartMask);

/** The mask layers among a module's (or a network's) layers. */
export function partMaskLayers(layers: readonly tf.layers.Layer[]): PartMask[] {
  return layers.filter((layer): layer is PartMask => layer instanceof PartMask);
}
