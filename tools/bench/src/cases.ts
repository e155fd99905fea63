/**
 * The benchmark networks, as data, so that the TensorFlow.js runner and the PyTorch peer
 * build exactly the same thing (docs/design.md §6: the small CNN, the VGG-style stack and
 * MobileNetV2).
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

/** A plain stack: conv 'same' + bias + ReLU, 2×2 max pooling, a dense layer on the flattened map. */
export interface SequentialNetwork {
  readonly kind: 'sequential';
  readonly layers: readonly Layer[];
}

/**
 * One row of MobileNetV2's inverted-residual setting, as torchvision and Keras write it:
 * expansion t, output channels c, repeats n, stride s of the first repeat.
 */
export type InvertedResidualRow = readonly [t: number, c: number, n: number, s: number];

/**
 * MobileNetV2 (Sandler et al. 2018) as torchvision's `mobilenet_v2` and Keras's `MobileNetV2`
 * build it: a 3×3 stride-2 stem conv, the inverted-residual blocks (1×1 expand when t ≠ 1, 3×3
 * depthwise, 1×1 linear projection; a residual add when the stride is 1 and channels in = out),
 * a 1×1 conv to `last` channels, global average pooling, dropout and a dense layer of logits.
 * Every conv is bias-free and followed by batch norm (and ReLU6 except the projection). Channel
 * counts are scaled by `width` and rounded to multiples of 8 as both libraries do.
 */
export interface MobileNetV2Network {
  readonly kind: 'mobilenetv2';
  readonly setting: readonly InvertedResidualRow[];
  readonly stem: number;
  readonly last: number;
  readonly classes: number;
  readonly width: number;
  readonly dropout: number;
}

export type Network = SequentialNetwork | MobileNetV2Network;

/** How a case is run unless the command line says otherwise. */
export interface RunDefaults {
  readonly warmup: number;
  readonly steps: number;
  readonly rounds: number;
  /** Comma-separated back ends. */
  readonly backends: string;
}

export interface BenchCase {
  readonly id: string;
  readonly description: string;
  /** `train`: forward + backward + Adam update with softmax cross-entropy; `infer`: forward only. */
  readonly mode: 'train' | 'infer';
  /** NHWC. */
  readonly input: readonly [number, number, number, number];
  readonly network: Network;
  readonly defaults: RunDefaults;
}

const conv = (filters: number, kernel = 3): ConvLayer => ({ type: 'conv', filters, kernel });
const pool: PoolLayer = { type: 'maxpool' };

// V8 keeps compiling tfjs's JavaScript through the first ~100 steps of a process (the small-CNN
// step measured 26 ms median over steps 4–18 and 11 ms after step 100), so both sides get 100
// warm-up steps and the steady state is compared; the warm-up median is reported beside it.
const SMALL_CASE_RUN: RunDefaults = { warmup: 100, steps: 50, rounds: 3, backends: 'wasm+onednn,wasm' };
// A MobileNetV2 step takes 60–300 ms on wasm+onednn (seconds on plain wasm), so JIT warm-up is a
// small share of it: 5 warm-up and 10 timed steps (the warm-up median stays close to the timed one). Plain wasm is left out by default: its depthwise-conv gradients
// run on the cpu back end, which makes its training step many times slower (`--backends` adds it).
const MOBILENET_RUN: RunDefaults = { warmup: 5, steps: 10, rounds: 3, backends: 'wasm+onednn' };

/** torchvision's and Keras's width-multiplier setting (`inverted_residual_setting` / the block list). */
export const MOBILENET_V2: MobileNetV2Network = {
  kind: 'mobilenetv2',
  setting: [
    [1, 16, 1, 1],
    [6, 24, 2, 2],
    [6, 32, 3, 2],
    [6, 64, 4, 2],
    [6, 96, 3, 1],
    [6, 160, 3, 2],
    [6, 320, 1, 1],
  ],
  stem: 32,
  last: 1280,
  classes: 1000,
  width: 1,
  dropout: 0.2,
};

export const BENCH_CASES: readonly BenchCase[] = [
  {
    id: 'small-cnn-train',
    description:
      'small CNN training step: conv3×3 3→16, pool, conv3×3 16→32, pool, dense→10; batch 32 of 32×32×3; Adam',
    mode: 'train',
    input: [32, 32, 32, 3],
    network: { kind: 'sequential', layers: [conv(16), pool, conv(32), pool, { type: 'dense', units: 10 }] },
    defaults: SMALL_CASE_RUN,
  },
  {
    id: 'vgg-infer',
    description: 'VGG-style inference: 4 blocks of 2 conv3×3 (32/64/128/128) + pool; batch 16 of 64×64×3',
    mode: 'infer',
    input: [16, 64, 64, 3],
    network: { kind: 'sequential', layers: [32, 64, 128, 128].flatMap((c) => [conv(c), conv(c), pool]) },
    defaults: SMALL_CASE_RUN,
  },
  {
    id: 'mobilenetv2-infer',
    description:
      'MobileNetV2 inference (width 1.0, 1000 classes, batch norm in inference mode); batch 8 of 224×224×3',
    mode: 'infer',
    input: [8, 224, 224, 3],
    network: MOBILENET_V2,
    defaults: MOBILENET_RUN,
  },
  {
    id: 'mobilenetv2-train',
    description:
      'MobileNetV2 training step (width 1.0, 1000 classes, batch norm on batch statistics, dropout 0.2); batch 8 of 224×224×3; softmax cross-entropy, Adam 1e-3',
    mode: 'train',
    input: [8, 224, 224, 3],
    network: MOBILENET_V2,
    defaults: MOBILENET_RUN,
  },
];

/** torchvision's `_make_divisible` (Keras's `_make_divisible` is the same): round to a multiple of 8, never down by more than 10 %. */
export function makeDivisible(v: number, divisor = 8): number {
  const rounded = Math.max(divisor, Math.floor((v + divisor / 2) / divisor) * divisor);
  return rounded < 0.9 * v ? rounded + divisor : rounded;
}

/** One inverted-residual block with its channel counts resolved. */
export interface InvertedResidualBlock {
  readonly in: number;
  /** Channels of the depthwise conv: in × t (no 1×1 expansion when t = 1). */
  readonly hidden: number;
  readonly out: number;
  readonly expand: boolean;
  readonly stride: number;
  readonly residual: boolean;
}

/** The channel plan of a MobileNetV2 setting, as torchvision's `MobileNetV2.__init__` computes it. */
export function mobileNetV2Plan(net: MobileNetV2Network): {
  readonly stem: number;
  readonly blocks: readonly InvertedResidualBlock[];
  readonly last: number;
} {
  const stem = makeDivisible(net.stem * net.width);
  const blocks: InvertedResidualBlock[] = [];
  let ch = stem;
  for (const [t, c, n, s] of net.setting) {
    const out = makeDivisible(c * net.width);
    for (let i = 0; i < n; i++) {
      const stride = i === 0 ? s : 1;
      blocks.push({
        in: ch,
        hidden: Math.round(ch * t),
        out,
        expand: t !== 1,
        stride,
        residual: stride === 1 && ch === out,
      });
      ch = out;
    }
  }
  return { stem, blocks, last: makeDivisible(net.last * Math.max(1, net.width)) };
}

/** The output size of a 3×3 conv with 'same' padding (tfjs) or padding 1 (torchvision): both ⌈h/s⌉. */
const strided = (h: number, s: number) => Math.ceil(h / s);

function sequentialFlops(layers: readonly Layer[], input: BenchCase['input']): number {
  const n = input[0];
  let [, h, w, ch] = input;
  let flops = 0;
  for (const layer of layers) {
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

function mobileNetV2Flops(net: MobileNetV2Network, input: BenchCase['input']): number {
  const [n, h0, w0, c0] = input;
  const plan = mobileNetV2Plan(net);
  let [h, w] = [strided(h0, 2), strided(w0, 2)];
  let flops = 2 * n * h * w * 9 * c0 * plan.stem;
  for (const b of plan.blocks) {
    if (b.expand) flops += 2 * n * h * w * b.in * b.hidden;
    [h, w] = [strided(h, b.stride), strided(w, b.stride)];
    flops += 2 * n * h * w * 9 * b.hidden; // depthwise: one 3×3 filter per channel
    flops += 2 * n * h * w * b.hidden * b.out;
  }
  const ch = plan.blocks.at(-1)?.out ?? plan.stem;
  flops += 2 * n * h * w * ch * plan.last;
  return flops + 2 * n * plan.last * net.classes;
}

/** Multiply-adds ×2 of the convolutions (depthwise included) and dense layers, forward only. */
export function forwardFlops(c: BenchCase): number {
  const net = c.network;
  switch (net.kind) {
    case 'sequential':
      return sequentialFlops(net.layers, c.input);
    case 'mobilenetv2':
      return mobileNetV2Flops(net, c.input);
    default: {
      const unreachable: never = net;
      return unreachable;
    }
  }
}

/** The number of classes a network ends in (0 when it ends in no dense layer). */
export function classesOf(net: Network): number {
  switch (net.kind) {
    case 'sequential': {
      const last = net.layers.at(-1);
      return last?.type === 'dense' ? last.units : 0;
    }
    case 'mobilenetv2':
      return net.classes;
    default: {
      const unreachable: never = net;
      return unreachable;
    }
  }
}

/** FLOPs of one step: forward for inference; forward + the two backward passes (≈ 3×) for training. */
export function stepFlops(c: BenchCase): number {
  return forwardFlops(c) * (c.mode === 'train' ? 3 : 1);
}

/** A smaller copy of a case, for tests of the harness itself. */
export function shrink(c: BenchCase, batch: number, size: number): BenchCase {
  return { ...c, input: [batch, size, size, c.input[3]] };
}
