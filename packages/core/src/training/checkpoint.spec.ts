import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { selectBackend } from '../backend';
import { isTransplantError } from '../errors';
import { AdamTrainer, constantRate } from './adam-trainer';
import { restoreCheckpoint, saveCheckpoint } from './checkpoint';
import { RunFolder } from './run-folder';

let dir: string;
beforeAll(async () => {
  await selectBackend({ requested: 'cpu', env: {} });
});
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'transplant-checkpoint-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A small least-squares problem trained with Adam; `steps` updates from a fixed start. */
function trainer() {
  const w = tf.tidy(() => tf.variable(tf.tensor2d([0.3, -0.2, 0.5, 0.1, -0.4, 0.2], [3, 2]), true));
  const x = tf.tensor2d([1, 2, 3, -1, 0.5, 2, 0, 1, -2, 1.5, 1, 0], [4, 3]);
  const y = tf.tensor2d([1, 0, 0, 1, 1, 1, 0, 0], [4, 2]);
  const adam = new AdamTrainer([w], constantRate(0.05));
  const step = (i: number) => adam.step(i, () => tf.losses.meanSquaredError(y, tf.matMul(x, w)) as tf.Scalar);
  return { w, adam, step, dispose: () => (adam.dispose(), tf.dispose([w, x, y])) };
}

describe('training checkpoints', () => {
  it('a run stopped after a checkpoint and restored in a fresh trainer ends bit-identical, and frees its tensors', () => {
    const start = tf.memory().numTensors;
    const straight = trainer();
    for (let i = 0; i < 12; i++) straight.step(i);
    const expected = Array.from(straight.w.dataSync());
    straight.dispose();

    const first = trainer();
    for (let i = 0; i < 5; i++) first.step(i);
    saveCheckpoint(
      dir,
      { variables: [first.w], optimizer: first.adam.optimizer },
      { step: 5, wallSeconds: 1 },
    );
    first.step(5); // work after the checkpoint is lost with the process
    first.dispose();

    const second = trainer();
    const state = restoreCheckpoint(dir, { variables: [second.w], optimizer: second.adam.optimizer });
    expect(state).toEqual({ step: 5, wallSeconds: 1 });
    for (let i = 5; i < 12; i++) second.step(i);
    expect(Array.from(second.w.dataSync())).toEqual(expected);
    second.dispose();
    expect(tf.memory().numTensors).toBe(start);
    // One tensors file: the previous one is removed when a newer checkpoint lands.
    expect(readdirSync(dir).sort()).toEqual([
      expect.stringMatching(/^checkpoint\.[0-9a-f]{16}\.bin$/),
      'checkpoint.json',
    ]);
  });

  it('keeps the previous checkpoint whole when a newer one was cut short before its JSON landed', () => {
    const t = trainer();
    t.step(0);
    saveCheckpoint(dir, { variables: [t.w], optimizer: t.adam.optimizer }, { step: 1, wallSeconds: 0 });
    const json = readFileSync(join(dir, 'checkpoint.json'), 'utf8');
    t.step(1);
    saveCheckpoint(dir, { variables: [t.w], optimizer: t.adam.optimizer }, { step: 2, wallSeconds: 0 });
    // A kill between the tensors file and the JSON: the JSON still names the step-1 tensors.
    const tensorsFile = (JSON.parse(json) as { tensorsFile: string }).tensorsFile;
    writeFileSync(
      join(dir, tensorsFile),
      readFileSync(
        join(
          dir,
          (JSON.parse(readFileSync(join(dir, 'checkpoint.json'), 'utf8')) as { tensorsFile: string })
            .tensorsFile,
        ),
      ),
    );
    writeFileSync(join(dir, 'checkpoint.json'), json);
    const fresh = trainer();
    // The step-1 file was replaced by other bytes: its digest no longer matches, a coded refusal.
    expect(() => restoreCheckpoint(dir, { variables: [fresh.w], optimizer: fresh.adam.optimizer })).toThrow(
      expect.objectContaining({ code: 'E_CHECKPOINT_CORRUPT' }),
    );
    t.dispose();
    fresh.dispose();
  });

  it('starts over (and says why) when the checkpoint was written for other inputs; refuses other shapes with a code', () => {
    const t = trainer();
    t.step(0);
    saveCheckpoint(
      dir,
      { variables: [t.w], optimizer: t.adam.optimizer },
      { step: 1, wallSeconds: 0 },
      { fingerprint: 'a' },
    );
    const notes: string[] = [];
    const before = Array.from(t.w.dataSync());
    expect(
      restoreCheckpoint(
        dir,
        { variables: [t.w], optimizer: t.adam.optimizer },
        { fingerprint: 'b', onStale: (l) => notes.push(l) },
      ),
    ).toBeUndefined();
    expect(notes).toEqual([expect.stringContaining('written for other inputs; starting over')]);
    expect(readdirSync(tmpdir())).not.toContain(dir);
    expect(Array.from(t.w.dataSync())).toEqual(before);

    saveCheckpoint(dir, { variables: [t.w], optimizer: t.adam.optimizer }, { step: 1, wallSeconds: 0 });
    const other = tf.tidy(() => tf.variable(tf.zeros([2, 2])));
    const adam = new AdamTrainer([other], constantRate(0.1));
    let error: unknown;
    try {
      restoreCheckpoint(dir, { variables: [other], optimizer: adam.optimizer });
    } catch (e) {
      error = e;
    }
    expect(isTransplantError(error, 'E_CHECKPOINT_CORRUPT')).toBe(true);
    writeFileSync(join(dir, 'checkpoint.json'), '{not json');
    expect(() => restoreCheckpoint(dir, { variables: [t.w], optimizer: t.adam.optimizer })).toThrow(
      /E_CHECKPOINT_CORRUPT/,
    );
    adam.dispose();
    other.dispose();
    t.dispose();
  });
});

describe('run folders', () => {
  it('one live process holds a folder; a dead holder’s lock is taken over; records are written whole', () => {
    const notes: string[] = [];
    const run = RunFolder.open(dir, 'transplant-abc', { every: 5, note: (l) => notes.push(l) });
    run.write('publish', { version: '1.2.0' });
    expect(run.read('publish')).toEqual({ version: '1.2.0' });
    expect(run.read('missing')).toBeUndefined();
    // This process holds it, so the same process opening it again gets it back (its own lock).
    expect(RunFolder.open(dir, 'transplant-abc', { every: 5, note: (l) => notes.push(l) }).directory).toBe(
      run.directory,
    );
    // A live other holder (pid 1 always runs): this run works in a folder of its own.
    writeFileSync(join(run.directory, 'run.lock'), '1');
    const beside = RunFolder.open(dir, 'transplant-abc', { every: 5, note: (l) => notes.push(l) });
    expect(beside.directory).toBe(join(dir, `transplant-abc.${process.pid}`));
    expect(notes).toEqual([expect.stringContaining('another run of the same command is in progress')]);
    // A dead holder (a pid no process has): taken over, contents kept for resuming.
    writeFileSync(join(run.directory, 'run.lock'), '2147483646');
    const resumed = RunFolder.open(dir, 'transplant-abc', { every: 5, note: (l) => notes.push(l) });
    expect(resumed.directory).toBe(run.directory);
    expect(resumed.read('publish')).toEqual({ version: '1.2.0' });
    // --restart: the contents go.
    const restarted = RunFolder.open(dir, 'transplant-abc', {
      every: 5,
      note: () => undefined,
      restart: true,
    });
    expect(restarted.read('publish')).toBeUndefined();
    restarted.release();
    expect(readdirSync(dir)).not.toContain('transplant-abc');
  });
});
