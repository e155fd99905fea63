import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '@transplant/core';
import { BENCH_CASES, forwardFlops, shrink, stepFlops } from './cases';
import { formatCaseReport } from './report';
import { medianPeerRound, medianRound } from './rounds';
import { timeTfjsCase } from './tfjs-runner';
import { runTorchPeer } from './torch-peer';

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

  it.each(BENCH_CASES.map((c) => c.id))('times a shrunken %s without leaking tensors', async (id) => {
    const before = tf.memory().numTensors;
    const timing = await timeTfjsCase(shrink(byId(id), 2, 16), { warmup: 1, steps: 2 });
    expect(timing.samples).toBe(2);
    expect(timing.medianMs).toBeGreaterThan(0);
    expect(timing.leaked).toBe(0);
    expect(tf.memory().numTensors).toBe(before);
    // Both cases stay on wasm's own and Transplant's kernels: nothing is routed to cpu.
    expect(timing.fallbacks).toEqual([]);
  });

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
    expect(text).toContain('| tfjs wasm | 50.0 | 20.0 |');
    expect(text).toContain('| 80.0 |');
    expect(text).toContain('missing: /nonexistent/python3');
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
