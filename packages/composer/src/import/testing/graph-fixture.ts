import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * A small TensorFlow GraphModel written the way tensorflowjs_converter writes one: TF nodes
 * (fused conv + ReLU6, fused depthwise, a residual Add, a squeeze-excite Mean/Sigmoid/Mul, a
 * bilinear resize, a concat), constants in the weights manifest — float16 and uint8 quantised,
 * float32 and int32 — and two outputs: per-class maps `maps` [16, 16, 3] and logits `logits` [2].
 * Input [1, 16, 16, 3] in 0–255 (converted at batch 1, as detectors often are).
 */

const b64 = (s: string) => Buffer.from(s).toString('base64');
const ints = (...i: number[]) => ({ list: { i: i.map(String) } });
const conv = (fused: string[]) => ({
  strides: ints(1, 1, 1, 1),
  dilations: ints(1, 1, 1, 1),
  padding: { s: b64('SAME') },
  data_format: { s: b64('NHWC') },
  fused_ops: { list: { s: fused.map(b64) } },
  num_args: { i: '1' },
  epsilon: { f: 0 },
  T: { type: 'DT_FLOAT' },
});

const node = (name: string, op: string, input: string[] = [], attr: Record<string, unknown> = {}) => ({
  name,
  op,
  input,
  attr,
});

interface Weight {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  quantization?: { dtype: 'float16' | 'uint8'; min?: number; scale?: number; original_dtype?: string };
  bytes: Uint8Array;
}

/** Seeded values in [-1, 1). */
function values(n: number, seed: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return (s / 2 ** 32) * 2 - 1;
  });
}

function float32(name: string, shape: number[], seed: number, scale = 0.5): Weight {
  const n = shape.reduce((a, b) => a * b, 1);
  return {
    name,
    shape,
    dtype: 'float32',
    bytes: new Uint8Array(new Float32Array(values(n, seed).map((v) => v * scale)).buffer),
  };
}

function int32(name: string, shape: number[], data: number[]): Weight {
  return { name, shape, dtype: 'int32', bytes: new Uint8Array(new Int32Array(data).buffer) };
}

/** float16 bit patterns with exponents 2^-4 … 2^-1 (values about ±0.06 … ±1). */
function float16(name: string, shape: number[], seed: number): Weight {
  const n = shape.reduce((a, b) => a * b, 1);
  const bits = values(n, seed).map((v, i) => {
    const sign = v < 0 ? 0x8000 : 0;
    const exponent = 11 + (i % 4);
    const fraction = Math.floor(Math.abs(v) * 1023);
    return sign | (exponent << 10) | fraction;
  });
  return {
    name,
    shape,
    dtype: 'float32',
    quantization: { dtype: 'float16', original_dtype: 'float32' },
    bytes: new Uint8Array(new Uint16Array(bits).buffer),
  };
}

function uint8(name: string, shape: number[], seed: number): Weight {
  const n = shape.reduce((a, b) => a * b, 1);
  return {
    name,
    shape,
    dtype: 'float32',
    quantization: { dtype: 'uint8', min: -0.5, scale: 1 / 255 },
    bytes: new Uint8Array(values(n, seed).map((v) => Math.floor((v + 1) * 127.5))),
  };
}

/** The model.json object and its one weight file. */
export function graphFixture(): { json: Record<string, unknown>; weights: Uint8Array } {
  const weights: Weight[] = [
    float16('c1/w', [3, 3, 3, 4], 1),
    uint8('c1/b', [4], 2),
    float32('dw/w', [3, 3, 4, 1], 3),
    float32('dw/b', [4], 4, 0.1),
    float32('hs/y', [], 5),
    int32('m/axes', [2], [1, 2]),
    int32('up/size', [2], [16, 16]),
    int32('cat/axis', [], [3]),
    float32('head/w', [1, 1, 8, 3], 6),
    float32('head/b', [3], 7, 0.1),
    int32('gap/axes', [2], [1, 2]),
    int32('flat/shape', [2], [1, 8]),
    float32('fc/w', [8, 2], 8),
    float32('fc/b', [2], 9, 0.1),
  ];
  const nodes = [
    node('images', 'Placeholder', [], {
      dtype: { type: 'DT_FLOAT' },
      shape: { shape: { dim: [{ size: '1' }, { size: '16' }, { size: '16' }, { size: '3' }] } },
    }),
    ...weights.map((w) =>
      node(w.name, 'Const', [], { dtype: { type: w.dtype === 'int32' ? 'DT_INT32' : 'DT_FLOAT' } }),
    ),
    node('scaled', 'Mul', ['images', 'hs/y']),
    node('c1', '_FusedConv2D', ['scaled', 'c1/w', 'c1/b'], {
      ...conv(['BiasAdd', 'Relu6']),
      strides: ints(1, 2, 2, 1),
    }),
    node('dw', 'FusedDepthwiseConv2dNative', ['c1', 'dw/w', 'dw/b'], conv(['BiasAdd', 'Relu'])),
    node('skip', 'AddV2', ['c1', 'dw']),
    node('m', 'Mean', ['skip', 'm/axes'], { keep_dims: { b: true }, Tidx: { type: 'DT_INT32' } }),
    node('gate', 'Sigmoid', ['m']),
    node('se', 'Mul', ['gate', 'skip']), // the 1×1 gate first, as squeeze-excite blocks often have it
    node('up', 'ResizeBilinear', ['se', 'up/size'], {
      align_corners: { b: false },
      half_pixel_centers: { b: false },
    }),
    node('cat', 'ConcatV2', ['up', 'up', 'cat/axis'], { N: { i: '2' } }),
    node('head', 'Conv2D', ['cat', 'head/w'], conv([])),
    node('head/add', 'BiasAdd', ['head', 'head/b'], { data_format: { s: b64('NHWC') } }),
    node('maps', 'Identity', ['head/add']),
    node('gap', 'Mean', ['cat', 'gap/axes'], { keep_dims: { b: false } }),
    // A graph converted at batch 1 reshapes to [1, …]; the import keeps the batch free.
    node('flat', 'Reshape', ['gap', 'flat/shape']),
    node('fc', 'MatMul', ['flat', 'fc/w'], { transpose_a: { b: false }, transpose_b: { b: false } }),
    node('logits', 'BiasAdd', ['fc', 'fc/b']),
  ];
  const json = {
    format: 'graph-model',
    generatedBy: 'transplant test fixture',
    convertedBy: 'transplant test fixture',
    modelTopology: { node: nodes, library: {}, versions: {} },
    weightsManifest: [
      {
        paths: ['group1-shard1of1.bin'],
        weights: weights.map(({ bytes: _bytes, ...spec }) => spec),
      },
    ],
  };
  const total = weights.reduce((n, w) => n + w.bytes.byteLength, 0);
  const data = new Uint8Array(total);
  let offset = 0;
  for (const w of weights) {
    data.set(w.bytes, offset);
    offset += w.bytes.byteLength;
  }
  return { json, weights: data };
}

/** Writes the fixture as model.json + group1-shard1of1.bin into `dir`; returns the model.json path. */
export async function writeGraphFixture(dir: string, json = graphFixture().json): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'model.json'), JSON.stringify(json));
  await writeFile(join(dir, 'group1-shard1of1.bin'), graphFixture().weights);
  return join(dir, 'model.json');
}
