import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
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

  it('a kill after a newer tensors file but before its JSON leaves the previous checkpoint in force', () => {
    const t = trainer();
    t.step(0);
    saveCheckpoint(dir, { variables: [t.w], optimizer: t.adam.optimizer }, { step: 1, wallSeconds: 0 });
    const expected = Array.from(t.w.dataSync());
    // What a process killed inside the next save leaves: a new tensors file (and a temporary
    // one) that no JSON names yet.
    writeFileSync(join(dir, 'checkpoint.0123456789abcdef.bin'), new Uint8Array(64));
    writeFileSync(join(dir, 'checkpoint.json.tmp'), '{"step": 2');
    t.step(1);
    const fresh = trainer();
    expect(restoreCheckpoint(dir, { variables: [fresh.w], optimizer: fresh.adam.optimizer })).toEqual({
      step: 1,
      wallSeconds: 0,
    });
    expect(Array.from(fresh.w.dataSync())).toEqual(expected);
    t.dispose();
    fresh.dispose();
  });

  it('refuses, with a code, a checkpoint whose tensors do not match the digest its JSON names', () => {
    const t = trainer();
    t.step(0);
    saveCheckpoint(dir, { variables: [t.w], optimizer: t.adam.optimizer }, { step: 1, wallSeconds: 0 });
    const { tensorsFile } = JSON.parse(readFileSync(join(dir, 'checkpoint.json'), 'utf8')) as {
      tensorsFile: string;
    };
    const bytes = readFileSync(join(dir, tensorsFile));
    bytes[bytes.length - 1]! ^= 1;
    writeFileSync(join(dir, tensorsFile), bytes);
    expect(() => restoreCheckpoint(dir, { variables: [t.w], optimizer: t.adam.optimizer })).toThrow(
      expect.objectContaining({ code: 'E_CHECKPOINT_CORRUPT' }),
    );
    t.dispose();
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
    expect(existsSync(dir)).toBe(false);
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
  const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  const lock = (directory: string, holder: { pid: number; started: string; boot: string }) =>
    writeFileSync(join(directory, 'run.lock'), JSON.stringify({ ...holder, token: 'other' }));
  const open = (notes: string[] = [], restart = false) =>
    RunFolder.open(dir, 'transplant-abc', { every: 5, note: (l) => notes.push(l), restart });

  it('one live run holds a slot; a second takes the next; a dead holder’s lock is taken over and its contents resumed', () => {
    const notes: string[] = [];
    const first = open(notes);
    expect(first.directory).toBe(join(dir, 'transplant-abc'));
    first.write('publish', { version: '1.2.0' });
    expect(first.read('publish')).toEqual({ version: '1.2.0' });
    expect(first.read('missing')).toBeUndefined();
    // A second run (even in this process: another token) while the first holds the lock.
    const second = open(notes);
    expect(second.directory).toBe(join(dir, 'transplant-abc.2'));
    expect(notes).toEqual([expect.stringContaining('another run of the same command is in progress')]);
    second.release();
    expect(existsSync(second.directory)).toBe(false);
    // Held by a live process of this boot (pid 1, start time unknown): busy.
    first.release();
    lock(first.directory, { pid: 1, started: '', boot });
    expect(open().directory).toBe(join(dir, 'transplant-abc.2'));
    // Dead holders: a pid no process has, pid 1 with another start time (a reused pid), another boot.
    for (const holder of [
      { pid: 2147483646, started: '', boot },
      { pid: 1, started: 'not-its-start', boot },
      { pid: 1, started: '', boot: 'another-boot' },
    ]) {
      rmSync(join(dir, 'transplant-abc.2'), { recursive: true, force: true });
      lock(first.directory, holder);
      const resumed = open();
      expect(resumed.directory).toBe(first.directory);
      expect(resumed.read('publish')).toEqual({ version: '1.2.0' });
      resumed.release();
    }
    // A free slot holding something to resume is preferred over an empty first slot.
    const slot2 = join(dir, 'transplant-abc.2');
    rmSync(first.directory, { recursive: true, force: true });
    mkdirSync(join(slot2, 'adapter'), { recursive: true });
    expect(open().directory).toBe(slot2);
  });

  it('--restart empties the slot; a finished run removes it, its publish record last', () => {
    const run = open();
    run.write('publish', { version: '1.0.0' });
    mkdirSync(run.path('adapter'));
    run.release();
    const restarted = open([], true);
    expect(restarted.read('publish')).toBeUndefined();
    expect(existsSync(restarted.path('adapter'))).toBe(false);
    restarted.write('publish', { version: '2.0.0' });
    restarted.remove();
    expect(readdirSync(dir)).toEqual([]);
  });
});
