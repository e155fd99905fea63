import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  BATCH_NORM_TRAIN,
  BATCH_NORM_TRAIN_GRAD,
  BatchNormalization,
  FUSED_RELU6_GRAD,
  fallbackCounts,
  resetFallbacks,
  selectBackend,
} from '@transplant/core';
import { loadOnednn } from '@transplant/native';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BENCH_CASES,
  forwardFlops,
  makeDivisible,
  MOBILENET_V2,
  shrink,
  stepFlops,
  type BenchCase,
  type MobileNetV2Network,
} from './cases';
import { formatCaseReport } from './report';
import { medianPeerRound, medianRound } from './rounds';
import { buildMobileNetV2, timeTfjsCase } from './tfjs-runner';
import { peerFailureReason, runTorchPeer } from './torch-peer';

const byId = (id: string) => BENCH_CASES.find((c) => c.id === id)!;

describe('bench harness', () => {
  beforeAll(async () => {
    await selectBackend({ requested: 'wasm', env: {} });
  });

  it('counts the FLOPs of the VGG-style case as docs/design.md §6 does (~5.5 GFLOP)', () => {
    // 2 FLOP × 9 taps × batch 16 × Σ over blocks of map area × (channels in × out, twice per block).
    const shallow = 64 ** 2 * (3 * 32 + 32 * 32) + 32 ** 2 * (32 * 64 + 64 * 64);
    const deeper = 16 ** 2 * (64 * 128 + 128 * 128) + 8 ** 2 * (128 * 128 + 128 * 128);
    expect(forwardFlops(byId('vgg-infer'))).toBe(2 * 9 * 16 * (shallow + deeper));
    expect(forwardFlops(byId('vgg-infer'))).toBe(5_549_064_192);
    expect(stepFlops(byId('small-cnn-train'))).toBe(3 * forwardFlops(byId('small-cnn-train')));
  });

  it.each(BENCH_CASES.filter((c) => c.network.kind === 'sequential').map((c) => c.id))(
    'times a shrunken %s without leaking tensors',
    async (id) => {
      const before = tf.memory().numTensors;
      const timing = await timeTfjsCase(shrink(byId(id), 2, 16), { warmup: 1, steps: 2 });
      expect(timing.samples).toBe(2);
      expect(timing.medianMs).toBeGreaterThan(0);
      expect(timing.leaked).toBe(0);
      expect(tf.memory().numTensors).toBe(before);
      // Both cases stay on wasm's own and Transplant's kernels: nothing is routed to cpu.
      expect(timing.fallbacks).toEqual([]);
    },
  );

  it('prints the kernels that left the fast path, per step, or none', () => {
    const ours = (fallbacks: { kernel: string; via: string; perStep: number }[]) => ({
      backend: 'wasm',
      timing: { medianMs: 50, minMs: 49, samples: 3, warmupMedianMs: 80, leaked: 0, fallbacks },
      leaked: 0,
    });
    const report = (fallbacks: { kernel: string; via: string; perStep: number }[]) =>
      formatCaseReport({ caseId: 'c', description: 'd', gflop: 1, ours: [ours(fallbacks)], peers: [] });
    expect(report([{ kernel: 'DepthwiseConv2dNativeBackpropInput', via: 'cpu', perStep: 17 }])).toContain(
      'Kernels off the fast path in the timed steps: tfjs wasm: DepthwiseConv2dNativeBackpropInput (cpu, 17.0×/step).',
    );
    expect(report([])).toContain('Kernels off the fast path in the timed steps: tfjs wasm: none.');
  });

  it('reports a missing PyTorch peer instead of failing', async () => {
    const peer = await runTorchPeer(byId('small-cnn-train'), {
      threads: 1,
      warmup: 0,
      steps: 1,
      python: '/nonexistent/python3',
    });
    expect(peer.available).toBe(false);
    const text = formatCaseReport({
      caseId: 'small-cnn-train',
      description: 'd',
      gflop: 1,
      ours: [
        {
          backend: 'wasm',
          timing: { medianMs: 50, minMs: 49, samples: 3, warmupMedianMs: 80, leaked: 0 },
          leaked: 0,
        },
      ],
      peers: [{ threads: 1, ...peer }],
    });
    expect(text).toContain('| tfjs wasm | 50.0 | 20.0 | 80.0 |');
    expect(text).toContain('missing: /nonexistent/python3');
    // Every row has as many cells as the header (4 without a peer to compare with).
    for (const line of text.split('\n').filter((l) => l.startsWith('|')))
      expect(line.match(/\|/g)).toHaveLength(5);
  });
});

/** 2 × multiply-adds of the convs, depthwise convs and dense layers, read off a built tf.layers model. */
function flopsOfModel(model: tf.LayersModel, batch: number): number {
  let flops = 0;
  for (const layer of model.layers) {
    const out = layer.outputShape as number[];
    const kernel = layer.weights[0]?.shape as number[] | undefined;
    const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
    switch (layer.getClassName()) {
      case 'Conv2D':
      case 'DepthwiseConv2D': // kernel [3, 3, channels, 1]: 9 taps per output value
        flops += 2 * batch * out[1]! * out[2]! * size(kernel!);
        break;
      case 'Dense':
        flops += 2 * batch * size(kernel!);
        break;
    }
  }
  return flops;
}

describe('MobileNetV2', () => {
  beforeAll(async () => {
    await selectBackend({ requested: 'wasm', env: {} });
  });

  it("is torchvision's and Keras's network, and its cases run briefly on wasm+onednn by default", () => {
    expect(MOBILENET_V2.setting).toEqual([
      [1, 16, 1, 1],
      [6, 24, 2, 2],
      [6, 32, 3, 2],
      [6, 64, 4, 2],
      [6, 96, 3, 1],
      [6, 160, 3, 2],
      [6, 320, 1, 1],
    ]);
    expect(MOBILENET_V2).toMatchObject({ stem: 32, last: 1280, classes: 1000, width: 1, dropout: 0.2 });
    for (const id of ['mobilenetv2-infer', 'mobilenetv2-train']) {
      expect(byId(id).input).toEqual([8, 224, 224, 3]);
      expect(byId(id).defaults).toEqual({ warmup: 5, steps: 10, rounds: 3, backends: 'wasm+onednn' });
    }
    expect(byId('mobilenetv2-infer').mode).toBe('infer');
    expect(byId('mobilenetv2-train').mode).toBe('train');
    expect(byId('vgg-infer').defaults).toEqual({
      warmup: 100,
      steps: 50,
      rounds: 3,
      backends: 'wasm+onednn,wasm',
    });
    // torchvision's _make_divisible: 32 × 0.35 = 11.2 → 8 would lose > 10 %, so 16; 18 → 24.
    expect([makeDivisible(11.2), makeDivisible(8), makeDivisible(18), makeDivisible(1280)]).toEqual([
      16, 8, 24, 1280,
    ]);
  });

  it('counts the FLOPs of a tiny setting as summed by hand', () => {
    const tiny: MobileNetV2Network = {
      kind: 'mobilenetv2',
      setting: [
        [1, 8, 1, 1],
        [2, 16, 1, 2],
      ],
      stem: 8,
      last: 16,
      classes: 10,
      width: 1,
      dropout: 0.2,
    };
    const c: BenchCase = { ...byId('mobilenetv2-infer'), input: [1, 8, 8, 3], network: tiny };
    const stem = 2 * 4 * 4 * 9 * 3 * 8; // 3×3 stride 2: 8×8 → 4×4, 3 → 8 channels
    const block1 = 2 * 4 * 4 * 9 * 8 + 2 * 4 * 4 * 8 * 8; // t = 1: no expansion; depthwise, project 8 → 8
    const block2 = 2 * 4 * 4 * 8 * 16 + 2 * 2 * 2 * 9 * 16 + 2 * 2 * 2 * 16 * 16; // expand ×2, depthwise /2, project
    const head = 2 * 2 * 2 * 16 * 16 + 2 * 16 * 10; // 1×1 conv to 16, dense 16 → 10
    expect(forwardFlops(c)).toBe(stem + block1 + block2 + head);
    expect(forwardFlops(c)).toBe(20_928);
    expect(forwardFlops({ ...c, input: [3, 8, 8, 3] })).toBe(3 * 20_928);
    // 7 × 7 gives 4 × 4 after the stem too ('same' and padding 1 both give ⌈h/s⌉).
    expect(forwardFlops({ ...c, input: [1, 7, 7, 3] })).toBe(20_928);
  });

  it("counts 300,774,272 multiply-adds per 224×224 image, as torchvision's model has, and as the built model has", () => {
    const model = buildMobileNetV2(MOBILENET_V2, [8, 224, 224, 3]);
    try {
      // 300,774,272 multiply-adds per image: counted with forward hooks on torchvision 0.14's
      // mobilenet_v2 (Conv2d: output elements × in/groups × k²; Linear: output × in).
      expect(forwardFlops(byId('mobilenetv2-infer'))).toBe(2 * 8 * 300_774_272);
      expect(flopsOfModel(model, 8)).toBe(2 * 8 * 300_774_272);
      expect(stepFlops(byId('mobilenetv2-train'))).toBe(3 * 2 * 8 * 300_774_272);
    } finally {
      model.dispose();
    }
  });

  it("has torchvision's 3,504,872 trainable parameters (built, not run)", () => {
    const before = tf.memory().numTensors;
    const model = buildMobileNetV2(MOBILENET_V2, [8, 224, 224, 3]);
    try {
      const count = (ws: readonly { shape: readonly (number | null)[] }[]) =>
        ws.reduce((n, w) => n + w.shape.reduce<number>((a, b) => a * (b ?? NaN), 1), 0);
      expect(count(model.trainableWeights)).toBe(3_504_872);
      // Batch norm's moving mean and variance: 2 × 17,056 channels.
      expect(count(model.nonTrainableWeights)).toBe(34_112);
      const layers = (name: string) => model.layers.filter((l) => l.getClassName() === name);
      expect(layers('DepthwiseConv2D')).toHaveLength(17);
      expect(layers('Add')).toHaveLength(10);
      expect(layers('BatchNormalization')).toHaveLength(52);
      // As a deserialised (imported) model gets it: core's fused-in-training subclass.
      expect(layers('BatchNormalization').every((l) => l instanceof BatchNormalization)).toBe(true);
      // ReLU6 as a Keras import writes it: after the stem, each expansion, each depthwise, the last conv.
      const relu6 = layers('ReLU');
      expect(relu6).toHaveLength(1 + 16 + 17 + 1);
      expect(relu6.every((l) => l.getConfig()['maxValue'] === 6)).toBe(true);
      expect(layers('Dropout').map((l) => l.getConfig()['rate'])).toEqual([0.2]);
      expect(model.outputs[0]!.shape).toEqual([null, 1000]);
    } finally {
      model.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  const narrow: MobileNetV2Network = { ...MOBILENET_V2, width: 0.35, classes: 10 };
  it.each([
    { id: 'mobilenetv2-infer', network: MOBILENET_V2 },
    { id: 'mobilenetv2-train', network: MOBILENET_V2 },
    { id: 'mobilenetv2-infer', network: narrow },
    { id: 'mobilenetv2-train', network: narrow },
  ])('times a shrunken $id (width $network.width) without leaking tensors', async ({ id, network }) => {
    const before = tf.memory().numTensors;
    const c: BenchCase = { ...shrink(byId(id), 2, 32), network };
    const timing = await timeTfjsCase(c, { warmup: 1, steps: 2 });
    expect(timing.samples).toBe(2);
    expect(timing.medianMs).toBeGreaterThan(0);
    expect(timing.leaked).toBe(0);
    expect(tf.memory().numTensors).toBe(before);
    // Plain wasm has the forward kernels; only the depthwise gradients may go to cpu.
    if (c.mode === 'infer') expect(timing.fallbacks).toEqual([]);
    else
      expect(timing.fallbacks?.every((f) => f.kernel.startsWith('DepthwiseConv2dNativeBackprop'))).toBe(true);
  });
});

describe('MobileNetV2 on the fast path', () => {
  // What the bench times must also be right: the same network and weights on wasm+oneDNN (or the
  // plain wasm where the addon is not built) and on the reference cpu back end, in both modes.
  it('computes the logits, the training loss and every gradient as the cpu back end does', async () => {
    const network: MobileNetV2Network = { ...MOBILENET_V2, width: 0.35, classes: 10 };
    const runs: { logits: Float32Array; loss: number; grads: Float32Array[] }[] = [];
    let weights: tf.Tensor[] | undefined;
    for (const backend of [loadOnednn().ok ? 'wasm+onednn' : 'wasm', 'cpu'] as const) {
      await selectBackend({ requested: backend, env: {} });
      let before = tf.memory().numTensors;
      const model = buildMobileNetV2(network, [4, 64, 64, 3]);
      const first = weights === undefined;
      // One set of weights for both, with batch norm's moving statistics away from 0 and 1.
      weights ??= model.weights.map((w, i) =>
        tf.tidy(() => {
          const r = tf.randomUniform(w.shape as number[], -1, 1, 'float32', 100 + i);
          return w.name.includes('moving_variance') ? tf.add(tf.abs(r), 0.5) : tf.mul(r, 0.5);
        }),
      );
      // The shared weights outlive this back end's run.
      if (first) before += weights.length;
      const own = weights.map((w) => tf.tensor(w.dataSync(), w.shape));
      model.setWeights(own);
      tf.dispose(own);
      const x = tf.tidy(() => tf.randomUniform([4, 64, 64, 3], 0, 1, 'float32', 7));
      const labels = tf.tidy(() => tf.oneHot(tf.tensor1d([3, 8, 0, 5], 'int32'), 10));
      const logits = tf.tidy(() => model.apply(x, { training: false }) as tf.Tensor);
      const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
      // Dropout is random: the training pass runs with rate 0 so that both sides see one network.
      model.layers
        .filter((l) => l.getClassName() === 'Dropout')
        .forEach((l) => ((l as unknown as { rate: number }).rate = 0));
      resetFallbacks();
      let step: { value: tf.Scalar; grads: tf.NamedTensorMap } | undefined;
      const { kernelNames } = await tf.profile(() => {
        step = tf.variableGrads(
          () =>
            tf.losses.softmaxCrossEntropy(
              labels,
              model.apply(x, { training: true }) as tf.Tensor,
            ) as tf.Scalar,
          vars,
        );
      });
      const { value, grads } = step!;
      if (backend === 'wasm+onednn') {
        // The fast path really ran: the fused batch norm and ReLU6 gradients, and nothing handed to
        // the cpu back end (the depthwise gradients would be, without oneDNN).
        expect(kernelNames).toEqual(
          expect.arrayContaining([BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD, FUSED_RELU6_GRAD]),
        );
        expect(kernelNames).not.toContain('ClipByValue');
        expect(fallbackCounts().filter((f) => f.via === 'cpu')).toEqual([]);
      }
      runs.push({
        logits: logits.dataSync() as Float32Array,
        loss: value.dataSync()[0]!,
        grads: vars.map((v) => grads[v.name]!.dataSync() as Float32Array),
      });
      tf.dispose([x, labels, logits, value, ...Object.values(grads)]);
      model.dispose();
      expect(tf.memory().numTensors).toBe(before);
    }
    tf.dispose(weights!);
    const [ours, cpu] = runs as [(typeof runs)[0], (typeof runs)[0]];
    const maxAbs = (a: Float32Array) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    const maxDiff = (a: Float32Array, b: Float32Array) =>
      a.reduce((m, v, k) => Math.max(m, Math.abs(v - b[k]!)), 0);
    const close = (a: Float32Array, b: Float32Array) => maxDiff(a, b) / Math.max(maxAbs(b), 1e-6);
    expect(close(ours.logits, cpu.logits)).toBeLessThan(1e-4);
    expect(Math.abs(ours.loss - cpu.loss) / cpu.loss).toBeLessThan(1e-4);
    expect(ours.grads).toHaveLength(cpu.grads.length);
    // A β whose batch norm feeds a conv and then a training batch norm has a gradient of 0 in exact
    // arithmetic (the next batch norm removes any per-channel shift): both sides give rounding
    // noise there, so each gradient is compared at no less than 10⁻³ of the largest one's scale.
    const scales = cpu.grads.map(maxAbs);
    const floor = 1e-3 * Math.max(...scales);
    ours.grads.forEach((g, i) => {
      expect(maxDiff(g, cpu.grads[i]!) / Math.max(scales[i]!, floor), `gradient ${i}`).toBeLessThan(5e-4);
    });
  }, 120_000);
});

describe('the PyTorch peer', () => {
  it('tells torchvision missing from PyTorch missing', () => {
    expect(peerFailureReason("Traceback …\nModuleNotFoundError: No module named 'torch'\n", 1)).toBe(
      "PyTorch is not installed (ModuleNotFoundError: No module named 'torch')",
    );
    expect(peerFailureReason("ModuleNotFoundError: No module named 'torchvision'", 1)).toMatch(
      /^torchvision is not installed: apt-get install python3-torchvision/,
    );
    expect(peerFailureReason('torchvision is not installed: apt-get install python3-torchvision\n', 1)).toBe(
      'torchvision is not installed: apt-get install python3-torchvision',
    );
    // A failure inside torch's own files is not "PyTorch is not installed".
    expect(
      peerFailureReason('  File "/usr/lib/python3/dist-packages/torch/nn.py"\nRuntimeError: boom', 1),
    ).toBe('RuntimeError: boom');
    expect(peerFailureReason('', 9)).toBe('exit 9');
  });

  // The real peer script, run by /usr/bin/python3 with stand-in torch and torchvision modules
  // first on its path: what it says when one of them is missing.
  it('says which module is missing, in its own words', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-peer-'));
    try {
      const python = (torchSource: string, torchvisionSource: string) => {
        const root = mkdtempSync(join(dir, 'env-'));
        for (const [name, source] of [
          ['torch', torchSource],
          ['torchvision', torchvisionSource],
        ] as const) {
          mkdirSync(join(root, name));
          writeFileSync(join(root, name, '__init__.py'), source);
        }
        const wrapper = join(root, 'python3');
        writeFileSync(wrapper, `#!/bin/sh\nPYTHONPATH='${root}' exec /usr/bin/python3 "$@"\n`, {
          mode: 0o755,
        });
        return wrapper;
      };
      const missing = (name: string) =>
        `raise ModuleNotFoundError("No module named '${name}'", name='${name}')\n`;
      const run = (c: BenchCase, py: string) =>
        runTorchPeer(c, { threads: 1, warmup: 0, steps: 1, python: py });
      const noTorchvision = python("__version__ = 'stand-in'\n", missing('torchvision'));
      expect(await run(byId('mobilenetv2-train'), noTorchvision)).toEqual({
        available: false,
        reason: 'torchvision is not installed: apt-get install python3-torchvision',
      });
      const noTorch = python(missing('torch'), missing('torchvision'));
      expect(await run(byId('mobilenetv2-infer'), noTorch)).toEqual({
        available: false,
        reason: 'PyTorch is not installed: apt-get install python3-torch',
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the report', () => {
  it("prints every round's median of every runner, so a disturbed round shows", () => {
    const timing = {
      medianMs: 20,
      minMs: 9,
      samples: 3,
      warmupMedianMs: 25,
      leaked: 0,
      roundMediansMs: [30, 10, 20],
    };
    const text = formatCaseReport({
      caseId: 'c',
      description: 'd',
      gflop: 1,
      ours: [{ backend: 'wasm+onednn', timing, leaked: 0 }],
      peers: [],
    });
    expect(text).toContain('Round medians (ms): tfjs wasm+onednn 30.0 / 10.0 / 20.0.');
  });
});

describe('rounds', () => {
  const t = (medianMs: number, minMs: number) => ({
    medianMs,
    minMs,
    samples: 10,
    warmupMedianMs: medianMs * 2,
    leaked: 0,
  });

  it('keeps the median round, the minimum over all rounds and every round median', () => {
    const combined = medianRound([t(30, 25), t(10, 9), t(20, 12)]);
    expect(combined.medianMs).toBe(20);
    expect(combined.warmupMedianMs).toBe(40);
    expect(combined.minMs).toBe(9);
    expect(combined.samples).toBe(30);
    expect(combined.roundMediansMs).toEqual([30, 10, 20]);
    expect(medianRound([t(30, 25), t(10, 9)]).medianMs).toBe(10);
  });

  it('reports a peer missing in any round as missing', () => {
    const ok = (ms: number) => ({
      available: true as const,
      torch: '1',
      threads: 1,
      best: 'nchw',
      timing: { medianMs: ms, minMs: ms - 1, samples: 5 },
      formats: {},
    });
    expect(medianPeerRound([ok(5), ok(3), ok(4)])).toMatchObject({
      available: true,
      timing: { medianMs: 4, minMs: 2, samples: 15 },
      roundMediansMs: [5, 3, 4],
    });
    expect(medianPeerRound([ok(5), { available: false, reason: 'gone' }])).toEqual({
      available: false,
      reason: 'gone',
    });
  });
});
