import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '@transplant/core';
import { BENCH_CASES, forwardFlops, shrink, stepFlops } from './cases';
import { formatCaseReport } from './report';
import { timeTfjsCase } from './tfjs-runner';
import { runTorchPeer } from './torch-peer';

const byId = (id: string) => BENCH_CASES.find((c) => c.id === id)!;

describe('bench harness', () => {
  beforeAll(async () => {
    await selectBackend({ requested: 'wasm', env: {} });
  });

  it('counts the FLOPs of the VGG-style case as BACKENDS.md does (~5.5 GFLOP)', () => {
    expect(forwardFlops(byId('vgg-infer')) / 1e9).toBeCloseTo(5.55, 1);
    expect(stepFlops(byId('small-cnn-train'))).toBe(3 * forwardFlops(byId('small-cnn-train')));
  });

  it.each(BENCH_CASES.map((c) => c.id))('times a shrunken %s without leaking tensors', async (id) => {
    const before = tf.memory().numTensors;
    const timing = await timeTfjsCase(shrink(byId(id), 2, 16), { warmup: 1, steps: 2 });
    expect(timing.samples).toBe(2);
    expect(timing.medianMs).toBeGreaterThan(0);
    expect(timing.leaked).toBe(0);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('reports a missing PyTorch peer instead of failing', async () => {
    const peer = await runTorchPeer(byId('small-cnn-train'), { threads: 1, warmup: 0, steps: 1, python: '/nonexistent/python3' });
    expect(peer.available).toBe(false);
    const text = formatCaseReport({
      caseId: 'small-cnn-train',
      description: 'd',
      gflop: 1,
      ours: [{ backend: 'wasm', timing: { medianMs: 50, minMs: 49, samples: 3 }, leaked: 0 }],
      peers: [{ threads: 1, ...peer }],
    });
    expect(text).toContain('| tfjs wasm | 50.0 | 20.0 |');
    expect(text).toContain('missing: /nonexistent/python3');
  });
});
