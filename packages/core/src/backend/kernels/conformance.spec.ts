import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadOnednn } from '@transplant/native';
import { selectBackend } from '../select-backend';
import { WASM_TRAINING_KERNELS } from './wasm-training-kernels';
import { FUSED_RELU_GRAD } from './onednn';
import { fallbackCounts, resetFallbacks } from './fallback-log';

/** Every kernel set this machine can run: plain wasm always, wasm+onednn where the addon is built. */
const MODES = ['wasm', ...(loadOnednn().ok ? ['wasm+onednn'] : [])] as const;

/**
 * The kernel conformance suite: every kernel Transplant registers on wasm, and the gradients
 * of a small conv net, against the stock `cpu` back end.
 */
const TOLERANCE = 1e-4;

function seeded(seed: number, n: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

function relativeError(actual: Float32Array, expected: Float32Array): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs((actual[i] ?? NaN) - (expected[i] ?? NaN)));
    scale = Math.max(scale, Math.abs(expected[i] ?? 0));
  }
  return actual.length === expected.length ? diff / Math.max(scale, 1e-6) : Infinity;
}

interface Input {
  readonly shape: readonly number[];
  readonly seed: number;
}

/** Runs one kernel on a back end from plain arrays and returns its output as plain data. */
async function runOn(
  backend: 'wasm' | 'cpu',
  kernelName: string,
  inputs: Record<string, Input>,
  attrs: Record<string, unknown>,
): Promise<{ shape: number[]; data: Float32Array; leaked: number }> {
  await tf.setBackend(backend);
  const before = tf.memory().numTensors;
  const tensors = Object.fromEntries(
    Object.entries(inputs).map(([name, i]) => [
      name,
      tf.tensor(
        seeded(
          i.seed,
          i.shape.reduce((a, b) => a * b, 1),
        ),
        [...i.shape],
      ),
    ]),
  );
  const out = tf.engine().runKernel(kernelName, tensors, attrs as tf.NamedAttrMap) as tf.Tensor;
  const data = (await out.data()) as Float32Array;
  const shape = out.shape;
  tf.dispose([out, ...Object.values(tensors)]);
  return { shape, data, leaked: tf.memory().numTensors - before };
}

type PadCase = 'same' | 'valid' | 'explicit';
const STRIDES = [1, 2, 3];
const PADS: PadCase[] = ['same', 'valid', 'explicit'];
const KERNELS = [1, 2, 3, 4, 5];
const GRID = STRIDES.flatMap((s) => PADS.flatMap((p) => KERNELS.map((k) => ({ s, p, k }))));

/** Non-square strides and kernels, odd sizes and batch 1: [strideH, strideW], [kh, kw], [n, h, w]. */
const ODD_SHAPES = [
  { s: [1, 2], k: [3, 2], nhw: [1, 7, 10], p: 'same' },
  { s: [2, 1], k: [1, 4], nhw: [3, 11, 5], p: 'valid' },
  { s: [3, 2], k: [5, 3], nhw: [2, 13, 9], p: 'same' },
  { s: [1, 1], k: [2, 5], nhw: [1, 6, 12], p: 'valid' },
] as const;

function padAttr(p: PadCase, k: number): unknown {
  if (p !== 'explicit') return p;
  return [
    [0, 0],
    [Math.min(1, k - 1), k - 1],
    [k - 1, 0],
    [0, 0],
  ];
}

function geometry(s: number, p: PadCase, k: number) {
  const [n, h, w, ci, co] = [2, 9, 8, 3, 4];
  const pad = padAttr(p, k);
  const info = tf.backend_util.computeConv2DInfo(
    [n, h, w, ci],
    [k, k, ci, co],
    s,
    1,
    pad as 'same',
    undefined,
    false,
  );
  return { n, h, w, ci, co, pad, outShape: info.outShape };
}

it('has the oneDNN kernels wherever CI expects them', () => {
  // .ci/run builds the addon and sets this, so CI cannot silently lose the native path.
  if (process.env['TRANSPLANT_EXPECT_ONEDNN'] === '1') expect(loadOnednn()).toMatchObject({ ok: true });
  expect(MODES).toContain('wasm');
});

describe.each(MODES)('%s kernels conform to the cpu back end', (mode) => {
  beforeAll(async () => {
    const selection = await selectBackend({ requested: mode, env: {} });
    expect(selection.id).toBe(mode);
    expect(selection.kernelPatches.map((p) => p.kernelName)).toEqual(
      expect.arrayContaining(WASM_TRAINING_KERNELS.map((p) => p.kernelName)),
    );
  });

  it.each(GRID)('Conv2D and FusedConv2D (bias, relu) stride $s pad $p kernel $k', async ({ s, p, k }) => {
    const g = geometry(s, p, k);
    const inputs = {
      x: { shape: [g.n, g.h, g.w, g.ci], seed: 31 },
      filter: { shape: [k, k, g.ci, g.co], seed: 32 },
    };
    const attrs = { strides: [s, s], pad: g.pad, dataFormat: 'NHWC', dilations: [1, 1] };
    for (const [kernel, extraInputs, extraAttrs] of [
      ['Conv2D', {}, {}],
      ['FusedConv2D', { bias: { shape: [g.co], seed: 33 } }, { activation: 'relu' }],
      ['FusedConv2D', { bias: { shape: [g.co], seed: 34 } }, { activation: 'linear' }],
    ] as const) {
      const ours = await runOn('wasm', kernel, { ...inputs, ...extraInputs }, { ...attrs, ...extraAttrs });
      const ref = await runOn('cpu', kernel, { ...inputs, ...extraInputs }, { ...attrs, ...extraAttrs });
      expect(ours.shape).toEqual(ref.shape);
      expect(relativeError(ours.data, ref.data)).toBeLessThanOrEqual(TOLERANCE);
      expect(ours.leaked).toBe(0);
    }
  });

  it.each([1, 2, 3])('Conv2D with dilation %i', async (d) => {
    const inputs = { x: { shape: [2, 11, 10, 3], seed: 35 }, filter: { shape: [3, 3, 3, 4], seed: 36 } };
    for (const pad of ['same', 'valid'] as const) {
      const attrs = { strides: [1, 1], pad, dataFormat: 'NHWC', dilations: [d, d] };
      const ours = await runOn('wasm', 'Conv2D', inputs, attrs);
      const ref = await runOn('cpu', 'Conv2D', inputs, attrs);
      expect(relativeError(ours.data, ref.data)).toBeLessThanOrEqual(TOLERANCE);
    }
  });

  const POOLS = [
    { k: 2, s: 2, p: 'valid', hw: [8, 8] },
    // 2×2 windows that leave the last row and column out: the input is not tiled, so untouched inputs must be 0.
    { k: 2, s: 2, p: 'valid', hw: [9, 7] },
    { k: 3, s: 2, p: 'same', hw: [9, 7] },
    { k: 3, s: 1, p: 'same', hw: [5, 6] },
    { k: 2, s: 3, p: 'valid', hw: [10, 11] },
  ] as const;

  it.each(POOLS)('MaxPool and MaxPoolGrad kernel $k stride $s pad $p size $hw', async ({ k, s, p, hw }) => {
    const results: { y: Float32Array; dx: Float32Array; leaked: number }[] = [];
    for (const backend of ['wasm', 'cpu'] as const) {
      await tf.setBackend(backend);
      const before = tf.memory().numTensors;
      const x = tf.tensor4d(seeded(41, 2 * hw[0] * hw[1] * 3), [2, hw[0], hw[1], 3]);
      const dy = tf.tensor4d(
        seeded(
          42,
          tf.backend_util
            .computePool2DInfo([2, hw[0], hw[1], 3], k, s, 1, p)
            .outShape.reduce((a, b) => a * b, 1),
        ),
        tf.backend_util.computePool2DInfo([2, hw[0], hw[1], 3], k, s, 1, p).outShape as [
          number,
          number,
          number,
          number,
        ],
      );
      const y = tf.maxPool(x, k, s, p);
      // The gradient through the real forward output: MaxPoolGrad receives (dy, input, output).
      const dx = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(t as tf.Tensor4D, k, s, p), dy)))(x);
      results.push({ y: y.dataSync() as Float32Array, dx: dx.dataSync() as Float32Array, leaked: 0 });
      tf.dispose([x, dy, y, dx]);
      results[results.length - 1]!.leaked = tf.memory().numTensors - before;
    }
    expect(relativeError(results[0]!.y, results[1]!.y)).toBeLessThanOrEqual(TOLERANCE);
    expect(relativeError(results[0]!.dx, results[1]!.dx)).toBeLessThanOrEqual(TOLERANCE);
    expect(results[0]!.leaked).toBe(0);
  });

  it('per-channel bias adds and bias-gradient sums on large maps (both operand orders, keepDims)', async () => {
    const x = { shape: [4, 32, 32, 16], seed: 61 };
    const b = { shape: [16], seed: 62 };
    for (const [kernel, inputs, attrs] of [
      ['Add', { a: x, b }, {}],
      ['Add', { a: b, b: x }, {}],
      ['Sum', { x }, { axis: [0, 1, 2], keepDims: false }],
      ['Sum', { x }, { axis: [2, 0, 1], keepDims: true }],
      ['Sum', { x }, { axis: [1, 2], keepDims: false }],
    ] as const) {
      const ours = await runOn('wasm', kernel, inputs, attrs);
      const ref = await runOn('cpu', kernel, inputs, attrs);
      expect(ours.shape).toEqual(ref.shape);
      expect(relativeError(ours.data, ref.data)).toBeLessThanOrEqual(TOLERANCE);
      expect(ours.leaked).toBe(0);
    }
  });

  it.each([
    [2, 3, 4, 5],
    [4, 32, 32, 16],
  ])(
    'Relu and its gradient match cpu to the bit, NaN and ±0 included (shape %i×%i×%i×%i)',
    async (...shape) => {
      const size = shape.reduce((a, b) => a * b, 1);
      const xs = seeded(71, size);
      [xs[0], xs[1], xs[2], xs[size - 1]] = [NaN, 0, -0, NaN];
      const dys = seeded(72, size);
      dys[3] = Infinity; // Infinity × 0 is NaN on every back end alike
      const results: { y: Float32Array; dx: Float32Array; second: Float32Array }[] = [];
      for (const backend of ['wasm', 'cpu'] as const) {
        await tf.setBackend(backend);
        const before = tf.memory().numTensors;
        const x = tf.tensor(xs, shape);
        const dy = tf.tensor(dys, shape);
        const y = tf.relu(x);
        const dx = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.relu(t), dy)))(x);
        // Second order through the gradient itself: d/dx Σ (∂/∂t Σ relu(t)·t)·dy.
        const second = tf.grad((t: tf.Tensor) =>
          tf.sum(tf.mul(tf.grad((u: tf.Tensor) => tf.sum(tf.mul(tf.relu(u), u)))(t), dy)),
        )(x);
        results.push({
          y: y.dataSync() as Float32Array,
          dx: dx.dataSync() as Float32Array,
          second: second.dataSync() as Float32Array,
        });
        tf.dispose([x, dy, y, dx, second]);
        expect(tf.memory().numTensors).toBe(before);
      }
      const [ours, ref] = results as [(typeof results)[0], (typeof results)[0]];
      expect(Array.from(ours.y)).toEqual(Array.from(ref.y));
      expect(Array.from(ours.dx)).toEqual(Array.from(ref.dx));
      expect(Array.from(ours.second)).toEqual(Array.from(ref.second));
      expect(Number.isNaN(ours.dx[0])).toBe(true);
      // The fused gradient kernel exists only with the addon; plain wasm runs tfjs's formula.
      expect(tf.getKernel(FUSED_RELU_GRAD, 'wasm') !== undefined).toBe(mode === 'wasm+onednn');
    },
  );

  it('MaxPoolGrad sends each window gradient to exactly one maximum when there are ties', async () => {
    await tf.setBackend('wasm');
    const before = tf.memory().numTensors;
    const values = [1, 1, 1, 1, 2, 2, 0, 2, 3, 3, 3, 3, 0, 0, 0, 0];
    const x = tf.tensor4d(values, [1, 4, 4, 1]);
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.maxPool(t as tf.Tensor4D, 2, 2, 'valid')))(x);
    const grad = Array.from(g.dataSync());
    tf.dispose([x, g]);
    expect(tf.memory().numTensors).toBe(before);
    // Each 2×2 window sends its 1 to one position holding the window's maximum.
    for (const [r, c] of [
      [0, 0],
      [0, 2],
      [2, 0],
      [2, 2],
    ] as const) {
      const cells = [0, 1, 4, 5].map((options) => r * 4 + c + options);
      const max = Math.max(...cells.map((i) => values[i]!));
      expect(cells.map((i) => grad[i]).reduce((a, b) => a! + b!, 0)).toBe(1);
      expect(cells.filter((i) => grad[i] === 1).every((i) => values[i] === max)).toBe(true);
    }
    {
      // Like the cpu kernel and TensorFlow, the first maximum in scan order receives it.
      await tf.setBackend('cpu');
      const xc = tf.tensor4d(values, [1, 4, 4, 1]);
      const gc = tf.grad((t: tf.Tensor) => tf.sum(tf.maxPool(t as tf.Tensor4D, 2, 2, 'valid')))(xc);
      expect(grad).toEqual(Array.from(gc.dataSync()));
      tf.dispose([xc, gc]);
    }
  });

  it.each([
    { b: 1, m: 5, k: 7, n: 3, ta: false, tb: false },
    { b: 3, m: 4, k: 6, n: 5, ta: true, tb: false },
    { b: 2, m: 8, k: 2, n: 9, ta: false, tb: true },
    { b: 1, m: 1, k: 33, n: 17, ta: true, tb: true },
  ])(
    'BatchMatMul and _FusedMatMul $b×$m×$k×$n transposeA $ta transposeB $tb',
    async ({ b, m, k, n, ta, tb }) => {
      const a = { shape: ta ? [b, k, m] : [b, m, k], seed: 51 };
      const bb = { shape: tb ? [b, n, k] : [b, k, n], seed: 52 };
      for (const [kernel, extraInputs, extraAttrs] of [
        ['BatchMatMul', {}, {}],
        ['_FusedMatMul', { bias: { shape: [n], seed: 53 } }, { activation: 'relu' }],
      ] as const) {
        const attrs = { transposeA: ta, transposeB: tb, ...extraAttrs };
        const ours = await runOn('wasm', kernel, { a, b: bb, ...extraInputs }, attrs);
        const ref = await runOn('cpu', kernel, { a, b: bb, ...extraInputs }, attrs);
        expect(ours.shape).toEqual([b, m, n]);
        expect(relativeError(ours.data, ref.data)).toBeLessThanOrEqual(TOLERANCE);
        expect(ours.leaked).toBe(0);
      }
    },
  );

  it.each(GRID)('Conv2DBackpropFilter stride $s pad $p kernel $k', async ({ s, p, k }) => {
    const g = geometry(s, p, k);
    const inputs = { x: { shape: [g.n, g.h, g.w, g.ci], seed: 1 }, dy: { shape: g.outShape, seed: 2 } };
    const attrs = { strides: [s, s], pad: g.pad, dataFormat: 'NHWC', filterShape: [k, k, g.ci, g.co] };
    const ours = await runOn('wasm', 'Conv2DBackpropFilter', inputs, attrs);
    const ref = await runOn('cpu', 'Conv2DBackpropFilter', inputs, attrs);
    expect(ours.shape).toEqual([k, k, g.ci, g.co]);
    expect(relativeError(ours.data, ref.data)).toBeLessThanOrEqual(TOLERANCE);
    expect(ours.leaked).toBe(0);
  });

  it.each(GRID)('Conv2DBackpropInput stride $s pad $p kernel $k', async ({ s, p, k }) => {
    const g = geometry(s, p, k);
    const inputs = { dy: { shape: g.outShape, seed: 3 }, filter: { shape: [k, k, g.ci, g.co], seed: 4 } };
    const attrs = { strides: [s, s], pad: g.pad, dataFormat: 'NHWC', inputShape: [g.n, g.h, g.w, g.ci] };
    const ours = await runOn('wasm', 'Conv2DBackpropInput', inputs, attrs);
    const ref = await runOn('cpu', 'Conv2DBackpropInput', inputs, attrs);
    expect(ours.shape).toEqual([g.n, g.h, g.w, g.ci]);
    expect(relativeError(ours.data, ref.data)).toBeLessThanOrEqual(TOLERANCE);
    expect(ours.leaked).toBe(0);
  });

  it.each(ODD_SHAPES)(
    'both conv gradients, stride $s kernel $k input $nhw pad $p',
    async ({ s, k, nhw, p }) => {
      const [n, h, w] = nhw;
      const [ci, co] = [2, 3];
      const filterShape = [k[0], k[1], ci, co];
      const info = tf.backend_util.computeConv2DInfo(
        [n, h, w, ci],
        filterShape as [number, number, number, number],
        [...s] as [number, number],
        1,
        p,
      );
      const common = { strides: [...s], pad: p, dataFormat: 'NHWC' };
      const cases = [
        [
          'Conv2DBackpropFilter',
          { x: { shape: [n, h, w, ci], seed: 21 }, dy: { shape: info.outShape, seed: 22 } },
          { ...common, filterShape },
        ],
        [
          'Conv2DBackpropInput',
          { dy: { shape: info.outShape, seed: 23 }, filter: { shape: filterShape, seed: 24 } },
          { ...common, inputShape: [n, h, w, ci] },
        ],
      ] as const;
      for (const [kernel, inputs, attrs] of cases) {
        const ours = await runOn('wasm', kernel, inputs, attrs);
        const ref = await runOn('cpu', kernel, inputs, attrs);
        expect(ours.shape).toEqual(ref.shape);
        expect(relativeError(ours.data, ref.data)).toBeLessThanOrEqual(TOLERANCE);
        expect(ours.leaked).toBe(0);
      }
    },
  );

  const DEPTHWISE = STRIDES.flatMap((s) =>
    (['same', 'valid'] as const).flatMap((p) => [1, 3, 5].map((k) => ({ s, p, k }))),
  );

  // Channel multipliers 2 (oneDNN's generic grouped path) and 1 with many channels (its
  // depthwise kernels, MobileNet's case); the fused forward with bias and relu6 as post-ops.
  it.each(DEPTHWISE)('depthwise forward and gradients stride $s pad $p kernel $k', async ({ s, p, k }) => {
    for (const [c, m] of [
      [3, 2],
      [20, 1],
    ] as const) {
      const [n, h, w] = [2, 9, 8];
      const info = tf.backend_util.computeConv2DInfo([n, h, w, c], [k, k, c, m], s, 1, p, undefined, true);
      const base = { strides: [s, s], pad: p, dilations: [1, 1], dimRoundingMode: undefined };
      const filter = { shape: [k, k, c, m], seed: 8 };
      const cases = [
        ['DepthwiseConv2dNative', { x: { shape: [n, h, w, c], seed: 4 }, filter }, base],
        [
          'FusedDepthwiseConv2D',
          { x: { shape: [n, h, w, c], seed: 4 }, filter, bias: { shape: [c * m], seed: 9 } },
          // Inputs in [-1, 1) times a sum of k² of them: relu6's upper clip is reached at k = 5.
          { ...base, dataFormat: 'NHWC', activation: 'relu6' },
        ],
        [
          'DepthwiseConv2dNativeBackpropFilter',
          { x: { shape: [n, h, w, c], seed: 5 }, dy: { shape: info.outShape, seed: 6 } },
          { ...base, filterShape: [k, k, c, m] },
        ],
        [
          'DepthwiseConv2dNativeBackpropInput',
          { dy: { shape: info.outShape, seed: 7 }, filter },
          { ...base, inputShape: [n, h, w, c] },
        ],
      ] as const;
      for (const [kernel, inputs, attrs] of cases) {
        const ours = await runOn('wasm', kernel, inputs, attrs);
        const ref = await runOn('cpu', kernel, inputs, attrs);
        expect(ours.shape).toEqual(ref.shape);
        expect(relativeError(ours.data, ref.data), `${kernel} C=${c} m=${m}`).toBeLessThanOrEqual(TOLERANCE);
        expect(ours.leaked).toBe(0);
      }
    }
  });

  it('a depthwise training step: with oneDNN no kernel leaves the fast path, and oneDNN picks a depthwise implementation', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor4d(seeded(41, 2 * 10 * 10 * 32), [2, 10, 10, 32]);
    const f = tf.tensor4d(seeded(42, 3 * 3 * 32), [3, 3, 32, 1]);
    resetFallbacks();
    const grads = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      tf
        .depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same')
        .square()
        .sum(),
    );
    const [gx, gf] = grads([x, f]);
    const depthwise = fallbackCounts().filter((c) => c.kernel.startsWith('DepthwiseConv2dNative'));
    tf.dispose([x, f, gx!, gf!]);
    if (mode === 'wasm') {
      // tfjs-backend-wasm has no depthwise gradients: both run on the cpu back end.
      expect(depthwise.map((c) => `${c.kernel} ${c.via}`).sort()).toEqual([
        'DepthwiseConv2dNativeBackpropFilter cpu',
        'DepthwiseConv2dNativeBackpropInput cpu',
      ]);
      return;
    }
    expect(depthwise).toEqual([]);
    const addon = loadOnednn();
    if (!addon.ok) throw new Error(addon.reason);
    const chosen = addon.addon.implementations().filter(([key]) => key.includes('2,10,10,32,;3,3,32,1,;'));
    expect(chosen.map(([key]) => key.split(' ')[0]).sort()).toEqual([
      'backward-data',
      'backward-weights',
      'forward',
    ]);
    // On a CPU with AVX2, oneDNN has jit depthwise kernels in NHWC; its reference loops would be 10–100× slower.
    if (/\bavx2\b/.test(readFileSync('/proc/cpuinfo', 'utf8')))
      for (const [, impl] of chosen) expect(impl).not.toMatch(/^ref/);
  });

  it.each([
    { s: [1, 2], k: [3, 2], nhw: [1, 7, 10], p: 'same', d: [1, 1] },
    { s: [2, 1], k: [1, 4], nhw: [3, 11, 5], p: 'valid', d: [1, 1] },
    { s: [1, 1], k: [3, 3], nhw: [1, 12, 11], p: 'same', d: [2, 3] },
  ] as const)(
    'depthwise forward stride $s kernel $k input $nhw pad $p dilation $d',
    async ({ s, k, nhw, p, d }) => {
      const [c, m] = [32, 1];
      const inputs = { x: { shape: [...nhw, c], seed: 31 }, filter: { shape: [k[0], k[1], c, m], seed: 32 } };
      const attrs = { strides: [...s], pad: p, dilations: [...d], dataFormat: 'NHWC' };
      const ours = await runOn('wasm', 'DepthwiseConv2dNative', inputs, attrs);
      const ref = await runOn('cpu', 'DepthwiseConv2dNative', inputs, attrs);
      expect(ours.shape).toEqual(ref.shape);
      expect(relativeError(ours.data, ref.data)).toBeLessThanOrEqual(TOLERANCE);
      expect(ours.leaked).toBe(0);
    },
  );

  it('Identity shares the buffer: no copy, both tensors read the same values, and disposing one keeps the other', async () => {
    await tf.setBackend('wasm');
    const before = tf.memory().numTensors;
    const buffers = () => (tf.memory() as { numDataBuffers: number }).numDataBuffers;
    const buffersBefore = buffers();
    const x = tf.tensor3d(seeded(12, 24), [2, 3, 4]);
    const y = tf.engine().runKernel('Identity', { x }) as tf.Tensor;
    expect(y.shape).toEqual([2, 3, 4]);
    expect(buffers() - buffersBefore).toBe(1);
    const wasm = tf.backend() as unknown as { getMemoryOffset(id: object): number };
    expect(wasm.getMemoryOffset(y.dataId)).toBe(wasm.getMemoryOffset(x.dataId));
    const expected = Array.from(await x.data());
    x.dispose();
    expect(Array.from(await y.data())).toEqual(expected);
    y.dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(buffers()).toBe(buffersBefore);
  });

  it.each([
    { shape: [7, 3, 2, 4], indices: [6, 0, 0, 3], axis: 0, dtype: 'float32' },
    { shape: [5], indices: [4, 1], axis: 0, dtype: 'float32' },
    {
      shape: [4, 6],
      indices: [
        [1, 3],
        [2, 0],
      ],
      axis: 0,
      dtype: 'float32',
    },
    { shape: [4, 6], indices: [5, 0], axis: 1, dtype: 'float32' },
    { shape: [4, 6], indices: [3, 2], axis: 0, dtype: 'int32' },
  ] as const)(
    'GatherV2 of shape $shape, indices $indices along axis $axis ($dtype)',
    async ({ shape, indices, axis, dtype }) => {
      const results: { values: number[]; shape: number[] }[] = [];
      for (const backend of ['wasm', 'cpu'] as const) {
        await tf.setBackend(backend);
        const before = tf.memory().numTensors;
        const size = shape.reduce((a: number, b: number) => a * b, 1);
        const x = tf.tensor(
          Array.from(seeded(51, size), (v) => (dtype === 'int32' ? Math.round(v * 100) : v)),
          [...shape],
          dtype,
        );
        const idx = tf.tensor(indices as unknown as number[], undefined, 'int32');
        const y = tf.gather(x, idx, axis);
        results.push({ values: Array.from(await y.data()), shape: y.shape });
        tf.dispose([x, idx, y]);
        expect(tf.memory().numTensors).toBe(before);
      }
      expect(results[0]!.shape).toEqual(results[1]!.shape);
      expect(results[0]!.values).toEqual(results[1]!.values);
    },
  );

  it('UnsortedSegmentSum and Einsum fall back to the cpu kernels', async () => {
    const sums: Float32Array[] = [];
    const products: Float32Array[] = [];
    for (const backend of ['wasm', 'cpu'] as const) {
      await tf.setBackend(backend);
      const before = tf.memory().numTensors;
      const x = tf.tensor2d(seeded(9, 24), [6, 4]);
      const ids = tf.tensor1d([0, 2, 1, 0, 2, 2], 'int32');
      const s = tf.unsortedSegmentSum(x, ids, 3);
      const e = tf.einsum('ij,kj->ik', x, x);
      sums.push((await s.data()) as Float32Array);
      products.push((await e.data()) as Float32Array);
      tf.dispose([x, ids, s, e]);
      expect(tf.memory().numTensors).toBe(before);
    }
    expect(relativeError(sums[0]!, sums[1]!)).toBeLessThanOrEqual(TOLERANCE);
    expect(relativeError(products[0]!, products[1]!)).toBeLessThanOrEqual(TOLERANCE);
  });

  it('a small conv net has the same gradients on wasm as on cpu, and training steps leak nothing', async () => {
    const grads: Float32Array[][] = [];
    for (const backend of ['wasm', 'cpu'] as const) {
      await tf.setBackend(backend);
      const params = {
        w1: tf.variable(
          tf.tensor4d(
            seeded(11, 3 * 3 * 3 * 8).map((v) => v * 0.3),
            [3, 3, 3, 8],
          ),
        ),
        w2: tf.variable(
          tf.tensor4d(
            seeded(12, 5 * 5 * 8 * 8).map((v) => v * 0.1),
            [5, 5, 8, 8],
          ),
        ),
        wd: tf.variable(
          tf.tensor4d(
            seeded(13, 3 * 3 * 8 * 1).map((v) => v * 0.3),
            [3, 3, 8, 1],
          ),
        ),
        wf: tf.variable(
          tf.tensor2d(
            seeded(14, 72 * 5).map((v) => v * 0.1),
            [72, 5],
          ),
        ),
      };
      const x = tf.tensor4d(seeded(15, 4 * 16 * 16 * 3), [4, 16, 16, 3]);
      const labels = tf.oneHot(tf.tensor1d([0, 1, 4, 2], 'int32'), 5);
      const loss = () =>
        tf.tidy(() => {
          let h = tf.relu(tf.conv2d(x, params.w1, 1, 'same'));
          h = tf.relu(tf.conv2d(h, params.w2, 2, 'valid'));
          h = tf.relu(tf.depthwiseConv2d(h, params.wd, 1, 'same'));
          h = tf.maxPool(h, 2, 2, 'valid');
          const logits = tf.matMul(tf.reshape(h, [4, -1]), params.wf);
          return tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar;
        });
      const before = tf.memory().numTensors;
      const step = () => {
        const { value, grads: g } = tf.variableGrads(loss, Object.values(params));
        const data = Object.values(params).map((v) => g[v.name]!.dataSync() as Float32Array);
        tf.dispose([value, ...Object.values(g)]);
        return data;
      };
      const first = step();
      step();
      expect(tf.memory().numTensors).toBe(before);
      grads.push(first);
      tf.dispose([x, labels, ...Object.values(params)]);
    }
    grads[0]!.forEach((g, i) => expect(relativeError(g, grads[1]![i]!)).toBeLessThanOrEqual(TOLERANCE));
  });
});
