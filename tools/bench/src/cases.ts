/**
 * The benchmark networks, as data, so that the TensorFlow.js runner and the PyTorch peer
 * build exactly the same thing (docs/design.md §6: the small CNN and the VGG-style stack).
 */
export interface ConvLayer {
  readonly type: 'conv';
  readonly filters: number;
  readonly kernel: number;
}
export interface PoolLayer {
  readonly type: 'maxpool';
}
export interface DenseLayer {
  readonly type: 'dense';
  readonly units: number;
}
export type Layer = ConvLayer | PoolLayer | DenseLayer;

export interface BenchCase {
  readonly id: string;
  readonly description: string;
  /** `train`: forward + backward + Adam update with softmax cross-entropy; `infer`: forward only. */
  readonly mode: 'train' | 'infer';
  /** NHWC. */
  readonly input: readonly [number, number, number, number];
  readonly layers: readonly Layer[];
}

const conv = (filters: number, kernel = 3): ConvLayer => ({ type: 'conv', filters, kernel });
const pool: PoolLayer = { type: 'maxpool' };

export const BENCH_CASES: readonly BenchCase[] = [
  {
    id: 'small-cnn-train',
    description:
      'small CNN training step: conv3×3 3→16, pool, conv3×3 16→32, pool, dense→10; batch 32 of 32×32×3; Adam',
    mode: 'train',
    input: [32, 32, 32, 3],
    layers: [conv(16), pool, conv(32), pool, { type: 'dense', units: 10 }],
  },
  {
    id: 'vgg-infer',
    description: 'VGG-style inference: 4 blocks of 2 conv3×3 (32/64/128/128) + pool; batch 16 of 64×64×3',
    mode: 'infer',
    input: [16, 64, 64, 3],
    layers: [32, 64, 128, 128].flatMap((c) => [conv(c), conv(c), pool]),
  },
];

/** Multiply-adds ×2 of the convolutions and dense layers, forward only. */
export function forwardFlops(c: BenchCase): number {
  const n = c.input[0];
  let [, h, w, ch] = c.input;
  let flops = 0;
  for (const layer of c.layers) {
    switch (layer.type) {
      case 'conv':
        flops += 2 * n * h * w * layer.kernel * layer.kernel * ch * layer.filters;
        ch = layer.filters;
        break;
      case 'maxpool':
        h = Math.floor(h / 2);
        w = Math.floor(w / 2);
        break;
      case 'dense':
        flops += 2 * n * h * w * ch * layer.units;
        [h, w, ch] = [1, 1, layer.units];
        break;
      default: {
        const unreachable: never = layer;
        return unreachable;
      }
    }
  }
  return flops;
}

/** FLOPs of one step: forward for inference; forward + the two backward passes (≈ 3×) for training. */
export function stepFlops(c: BenchCase): number {
  return forwardFlops(c) * (c.mode === 'train' ? 3 : 1);
}

/** A smaller copy of a case, for tests of the harness itself. */
export function shrink(c: BenchCase, batch: number, size: number): BenchCase {
  return { ...c, input: [batch, size, size, c.input[3]] };
}
