import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runSoak, soakCommand, SOAK_DEFAULTS, type SoakOptions } from './soak';
import { Sampler, downsample, judge, type SoakFile, type SoakSample } from './soak-report';

const MiB = 2 ** 20;

/** A synthetic series of `n` units: RSS and the tensor count as functions of the unit done. */
const series = (
  n: number,
  rss: (i: number) => number,
  tensors: (i: number) => number = () => 40,
): SoakSample[] =>
  Array.from({ length: n }, (_, k) => {
    const done = k + 1;
    return {
      done,
      ms: done,
      tensors: tensors(done),
      rss: rss(done),
      heapUsed: 50 * MiB,
      external: MiB,
      arrayBuffers: MiB,
    };
  });

describe('the soak verdict', () => {
  it('passes a flat series, whatever warm-up did before 10 % of the run', () => {
    const v = judge(
      series(
        100,
        (i) => (i < 10 ? 200 * MiB + i * 10 * MiB : 300 * MiB + (i % 3) * MiB),
        (i) => (i < 5 ? i : 40),
      ),
      100,
    );
    expect(v.pass).toBe(true);
    expect(v.failures).toEqual([]);
    expect(v.warmupDone).toBe(10);
    expect(v.tensors).toEqual({ min: 40, max: 40, constant: true });
    expect(v.rss.atWarmup).toBe(301 * MiB);
    expect(v.rss.end).toBe(301 * MiB);
    expect(v.rss.ratio).toBe(1);
    expect(v.rss.maxAfterWarmup).toBe(302 * MiB);
  });

  it('fails a series whose RSS keeps growing (the check can fail)', () => {
    // 1 MiB a unit from 300 MiB: 310 MiB at 10 %, 400 MiB at the end, ×1.29.
    const v = judge(
      series(100, (i) => 300 * MiB + i * MiB),
      100,
    );
    expect(v.pass).toBe(false);
    expect(v.rss.ratio).toBeCloseTo(400 / 310, 10);
    expect(v.tensors.constant).toBe(true);
    expect(v.failures).toHaveLength(1);
    expect(v.failures[0]).toMatch(/RSS grew 29\.0 %/);
  });

  it('fails a series that leaks one tensor a step even when RSS stays within 10 %', () => {
    const v = judge(
      series(
        100,
        () => 300 * MiB,
        (i) => 40 + i,
      ),
      100,
    );
    expect(v.pass).toBe(false);
    expect(v.rss.ratio).toBe(1);
    expect(v.tensors).toEqual({ min: 50, max: 140, constant: false });
    expect(v.failures[0]).toMatch(/tensor count moved after warm-up: 50 … 140/);
  });

  it('passes growth just inside the tolerance and fails it just outside', () => {
    const growth = (to: number) => series(100, (i) => (i <= 10 ? 100 * MiB : to * MiB));
    expect(judge(growth(110), 100).pass).toBe(true);
    expect(judge(growth(111), 100).pass).toBe(false);
  });

  it('refuses to judge a run with too few samples after warm-up', () => {
    expect(() =>
      judge(
        series(1, () => MiB),
        100,
      ),
    ).toThrow(/at least two samples after warm-up/);
  });
});

describe('the soak samples', () => {
  it('are downsampled to the count asked, keeping the ends, the reference and the peaks', () => {
    const s = series(
      1000,
      (i) => (i === 777 ? 900 * MiB : 300 * MiB),
      (i) => (i === 333 ? 99 : 40),
    );
    const kept = downsample(s, 50, [100]);
    expect(kept.length).toBeLessThanOrEqual(50);
    expect(kept.length).toBeGreaterThanOrEqual(47);
    const done = kept.map((k) => k.done);
    expect(done).toEqual([...done].sort((a, b) => a - b));
    expect(done).toEqual(expect.arrayContaining([1, 100, 333, 777, 1000]));
    expect(downsample(s.slice(0, 10), 50)).toHaveLength(10);
  });

  it('records the command line: the environment that matters and the options that differ from the defaults', () => {
    const options: SoakOptions = { ...SOAK_DEFAULTS, steps: 30, mineImages: 20, isolate: false };
    expect(soakCommand(options, { TRANSPLANT_THREADS: '1' })).toBe(
      'TRANSPLANT_THREADS=1 npx nx run bench:soak --steps=30 --mine-images=20 --no-isolate',
    );
  });
});

describe('the soak harness on tiny sizes', () => {
  let dir: string;
  let soak: SoakFile;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'soak-spec-'));
    const quiet = [
      vi.spyOn(process.stdout, 'write').mockImplementation(() => true),
      vi.spyOn(process.stderr, 'write').mockImplementation(() => true),
    ];
    // One oneDNN thread: on a busy two-core machine, more only wait on each other.
    const threads = process.env['TRANSPLANT_THREADS'];
    process.env['TRANSPLANT_THREADS'] = '1';
    try {
      const tiny = {
        steps: 30,
        images: 20,
        chunk: 5,
        explainerSteps: 5,
        pool: 8,
        mineImages: 12,
        iterations: 3,
        isolate: false,
        results: dir,
      };
      // Two runs: the second redoes one phase and keeps the others' results.
      await runSoak({ ...tiny, phases: 'transplant,explain,graph' });
      soak = await runSoak({ ...tiny, phases: 'graph' });
    } finally {
      quiet.forEach((q) => q.mockRestore());
      if (threads === undefined) delete process.env['TRANSPLANT_THREADS'];
      else process.env['TRANSPLANT_THREADS'] = threads;
    }
  }, 60_000);
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('the sampler takes a sample every `every` units, and always at the first and the last', () => {
    const sampler = new Sampler(5000);
    expect(sampler.every).toBe(5);
    for (let step = 1; step <= 5000; step++) sampler.at(step);
    expect(sampler.samples).toHaveLength(1001);
    expect(sampler.samples[0]!.done).toBe(1);
    expect(sampler.samples.at(-1)!.done).toBe(5000);
    expect(sampler.samples.every((s) => s.rss > 0 && s.heapUsed > 0 && Number.isInteger(s.tensors))).toBe(
      true,
    );
  });

  it('samples every phase and judges it', () => {
    expect(soak.phases.map((p) => p.phase)).toEqual(['transplant', 'explain', 'graph']);
    const [transplant, explain, graph] = soak.phases;
    expect([transplant!.total, explain!.total, graph!.total]).toEqual([30, 20, 6]);
    expect([transplant!.unit, explain!.unit, graph!.unit]).toEqual(['steps', 'images', 'EM iterations']);
    expect(transplant!.samplesTaken).toBe(30);
    expect(explain!.samplesTaken).toBe(5); // before the first chunk, then after each of 4
    expect(graph!.samplesTaken).toBe(7);
    for (const p of soak.phases) {
      expect(p.samples.length).toBe(p.samplesTaken);
      expect(p.samples.at(-1)!.done).toBe(p.total);
      expect(p.samples.every((s) => s.rss > 0 && s.tensors >= 0)).toBe(true);
      expect(p.verdict.rss.ratio).toBeCloseTo(p.verdict.rss.end / p.verdict.rss.atWarmup, 12);
      expect(p.verdict.pass).toBe(p.verdict.failures.length === 0);
      expect(p.verdict.tensors.min).toBeGreaterThan(0);
      expect(p.process).toBe('shared');
      expect(p.tensorsAfter).toBe(p.tensorsBefore);
    }
    // The work was done: the transplant's loss moved, the explanation has shares, the graph nodes.
    expect(transplant!.outcome['firstLoss']).not.toBe(transplant!.outcome['lastLoss']);
    expect(explain!.outcome['meanInterpretableShare']).toBeGreaterThan(0);
    expect((graph!.outcome['nodes'] as number[]).every((v) => v > 0)).toBe(true);
  });

  it('writes soak.json, soak.md and soak.svg with the machine, the back end and the command', () => {
    const json = JSON.parse(readFileSync(join(dir, 'soak.json'), 'utf8')) as SoakFile;
    expect(json.phases).toHaveLength(3);
    expect(json.machine['node']).toBe(process.version);
    expect(json.command).toMatch(/^(\S+=\S+ )*npx nx run bench:soak --phases=graph --steps=30 /);
    expect(json.phases.every((p) => typeof p.backend === 'string' && p.backend.length > 0)).toBe(true);
    expect(Date.parse(json.updatedAt)).toBeGreaterThan(0);
    const md = readFileSync(join(dir, 'soak.md'), 'utf8');
    expect(md).toMatch(/\| transplant \| 30 steps \|/);
    expect(md).toContain('![RSS and tensor count over each phase](soak.svg)');
    expect(existsSync(join(dir, 'soak.svg'))).toBe(true);
    expect(readFileSync(join(dir, 'soak.svg'), 'utf8').match(/<polyline /g)).toHaveLength(6);
  });
});
