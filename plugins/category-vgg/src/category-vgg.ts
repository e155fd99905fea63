import * as tf from '@tensorflow/tfjs';
import { IsBoolean, IsIn, IsInt, Max, Min, ValidateBy } from 'class-validator';
import { ChannelBatchNorm } from './batch-norm';
import {
  PART_MASK_MODES,
  PartMask,
  featureMapPort,
  type BuiltModule,
  type ModulePlugin,
  type PartMaskMode,
  type Port,
} from '@transplant/core';

/** Options of a VGG-style conv stack; the property initialisers are the defaults. */
export class CategoryVggOptions {
  /** Square input images of this size (pixels). */
  @IsInt()
  @Min(8)
  @Max(1024)
  inputSize = 64;

  /** Conv widths per block; a 2×2 max pool separates consecutive blocks. */
  @ValidateBy({
    name: 'isBlocks',
    validator: {
      validate: (v: unknown) =>
        Array.isArray(v) &&
        v.length >= 1 &&
        v.length <= 6 &&
        v.every(
          (b) =>
            Array.isArray(b) &&
            b.length >= 1 &&
            b.length <= 4 &&
            b.every((w) => Number.isInteger(w) && w >= 1 && w <= 1024),
        ),
      defaultMessage: () => '$property must be 1 to 6 blocks, each 1 to 4 conv widths (integers 1–1024)',
    },
  })
  blocks: number[][] = [[16], [32], [32], [64]];

  @IsIn([3, 5])
  kernelSize = 3;

  /**
   * Batch normalisation after each conv (conv without bias → BN → ReLU). A training-time
   * form: `foldBatchNorm` turns a trained module into the plain form (BN folded into the
   * conv's kernel and bias), which is what gets published, so that a frozen module never
   * carries batch statistics into a transplant.
   */
  @IsBoolean()
  batchNorm = false;

  /**
   * `argmax` or `centroid` makes the top conv layer (the last conv of the last block) an
   * interpretable conv layer: a part mask (`PartMask`, docs/methods.md §2.4) follows its ReLU, so
   * the output port carries the masked map. Train it with the filter loss of
   * `@transplant/interpretable`; `none` is the ordinary stack.
   */
  @IsIn(['none', ...PART_MASK_MODES])
  mask: 'none' | PartMaskMode = 'none';
}

const BN_MOMENTUM = 0.99;
const BN_EPSILON = 1e-3;

const stride = (options: CategoryVggOptions) => 2 ** (options.blocks.length - 1);

/**
 * The lower layers of a VGG-style network: `same`-padded conv+ReLU layers in blocks, 2×2
 * max pooling between blocks. Its output port is the last block's feature map, at stride
 * 2^(blocks − 1). He-normal kernels seeded per layer, zero biases.
 */
export const categoryVgg: ModulePlugin<CategoryVggOptions> = {
  family: 'category-vgg',
  version: '1.2.0',
  kind: 'category',
  description:
    'VGG-style conv stack (blocks of 3×3 conv+ReLU, 2×2 max pool between blocks; optionally a part mask on the top conv layer); outputs the feature map at stride 2^(blocks−1)',
  optionsSchema: CategoryVggOptions,
  optionViolations(options) {
    return options.inputSize % stride(options) === 0
      ? []
      : [{ path: 'inputSize', message: `must be a multiple of the stride ${stride(options)}` }];
  },
  ports(options) {
    const channels = options.blocks[options.blocks.length - 1]!.at(-1)!;
    const size = options.inputSize / stride(options);
    const input: Port = {
      role: 'image',
      dtype: 'float32',
      shape: [null, options.inputSize, options.inputSize, 3],
      channels: 3,
      stride: 1,
      values: 'unit',
    };
    return { input, output: featureMapPort(size, channels, stride(options)) };
  },
  build(options, { seed, prefix }): BuiltModule {
    const layers: tf.layers.Layer[] = [];
    let n = 0;
    const last = options.blocks.length - 1;
    options.blocks.forEach((widths, b) => {
      if (b > 0) layers.push(tf.layers.maxPooling2d({ poolSize: 2, name: `${prefix}block${b}_pool` }));
      widths.forEach((filters, i) => {
        const name = `${prefix}block${b + 1}_conv${i + 1}`;
        const kernelInitializer = tf.initializers.heNormal({ seed: seed + n++ });
        if (!options.batchNorm) {
          layers.push(
            tf.layers.conv2d({
              name,
              filters,
              kernelSize: options.kernelSize,
              padding: 'same',
              activation: 'relu',
              kernelInitializer,
            }),
          );
        } else {
          layers.push(
            tf.layers.conv2d({
              name,
              filters,
              kernelSize: options.kernelSize,
              padding: 'same',
              useBias: false,
              kernelInitializer,
            }),
            new ChannelBatchNorm({ name: `${name}_bn`, momentum: BN_MOMENTUM, epsilon: BN_EPSILON }),
            tf.layers.activation({ name: `${name}_relu`, activation: 'relu' }),
          );
        }
        if (options.mask !== 'none' && b === last && i === widths.length - 1)
          layers.push(new PartMask({ name: `${name}_mask`, mode: options.mask }));
      });
    });
    return { layers, apply: (x) => layers.reduce((t, layer) => layer.apply(t) as tf.SymbolicTensor, x) };
  },
};

/**
 * The plain form of a module trained with `batchNorm`: per conv, kernel·γ/√(σ²+ε) and bias
 * β − μ·γ/√(σ²+ε), with the moving mean μ and variance σ². The result computes what the BN
 * module computes in inference mode (to float rounding). Weights are keyed by module-local
 * names as `moduleWeights` gives them; the returned tensors are new (the caller disposes them).
 */
export function foldBatchNorm(
  opts: CategoryVggOptions,
  weights: Readonly<Record<string, tf.Tensor>>,
): { options: CategoryVggOptions; weights: Record<string, tf.Tensor> } {
  if (!opts.batchNorm) throw new Error('foldBatchNorm needs a module built with batchNorm: true');
  const out: Record<string, tf.Tensor> = {};
  opts.blocks.forEach((widths, b) =>
    widths.forEach((_, i) => {
      const conv = `block${b + 1}_conv${i + 1}`;
      const get = (name: string) => {
        const t = weights[name];
        if (!t) throw new Error(`foldBatchNorm: ${name} is missing`);
        return t;
      };
      tf.tidy(() => {
        const scale = tf.div(
          get(`${conv}_bn/gamma`),
          tf.sqrt(tf.add(get(`${conv}_bn/moving_variance`), BN_EPSILON)),
        );
        out[`${conv}/kernel`] = tf.keep(tf.mul(get(`${conv}/kernel`), scale));
        out[`${conv}/bias`] = tf.keep(
          tf.sub(get(`${conv}_bn/beta`), tf.mul(get(`${conv}_bn/moving_mean`), scale)),
        );
      });
    }),
  );
  // A mask's β passes through unchanged.
  for (const [name, tensor] of Object.entries(weights))
    if (name.endsWith('_mask/beta')) out[name] = tensor.clone();
  return { options: Object.assign(new CategoryVggOptions(), opts, { batchNorm: false }), weights: out };
}
