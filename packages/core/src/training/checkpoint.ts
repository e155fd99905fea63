import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { decodeWeights, encodeWeights, sha256Digest, tensorsToWeights, weightsToTensors } from '../artifact';
import { TransplantError, storageError } from '../errors';
import type { ScheduledAdam } from './adam-trainer';

/** What every checkpoint restores besides tensors: the next step and the wall time so far; a trainer adds its own JSON fields. */
export interface CheckpointState {
  readonly step: number;
  readonly wallSeconds: number;
}

/** The tensors a checkpoint holds: the trainable variables, the optimizer, the layers' statistics. */
export interface Checkpointed {
  readonly variables: readonly tf.Variable[];
  readonly optimizer: ScheduledAdam;
  /** Non-trainable weights that training moves (BN moving averages); default none. */
  readonly statistics?: readonly tf.LayerVariable[];
}

export interface CheckpointOptions {
  /**
   * What the run was started from (input digests, options, back end). A checkpoint written
   * under another fingerprint is not resumed: it is removed and the run starts over.
   */
  readonly fingerprint?: string;
  /** Told why a checkpoint was not resumed. */
  readonly onStale?: (reason: string) => void;
}

const STATE_FILE = 'checkpoint.json';
const GENERATED_BY = 'transplant-checkpoint/1';

type Stored<S> = S & {
  readonly tensorsFile: string;
  readonly digest: string;
  readonly fingerprint?: string;
  readonly moments: number;
  readonly iterations: number;
};

const corrupt = (directory: string, why: string): TransplantError =>
  new TransplantError(
    'E_CHECKPOINT_CORRUPT',
    `the checkpoint in ${directory} ${why}; delete that folder (or pass --restart) to start the run over`,
    { operation: 'checkpoint' },
  );

/**
 * Writes the variables, the optimizer's state and `state` (synchronously, so a training loop
 * need not be async). The tensors go to a file named by their digest and the JSON that names
 * it is renamed into place last: a process killed at any point leaves the previous checkpoint
 * whole. Small and frequent by design (adapters, explainers), so it is not fsynced: a killed
 * process loses nothing the kernel already holds.
 */
export function saveCheckpoint<S extends CheckpointState>(
  directory: string,
  checkpointed: Checkpointed,
  state: S,
  options: CheckpointOptions = {},
): void {
  try {
    writeCheckpoint(directory, checkpointed, state, options);
  } catch (error) {
    // A write cut short (a full disk) leaves no temporary file; the previous checkpoint stays whole.
    const names = (() => {
      try {
        return readdirSync(directory);
      } catch {
        return [];
      }
    })();
    for (const name of names) if (name.endsWith('.tmp')) rmSync(join(directory, name), { force: true });
    throw storageError(error, `a checkpoint in ${directory}`, { operation: 'checkpoint' });
  }
}

function writeCheckpoint<S extends CheckpointState>(
  directory: string,
  checkpointed: Checkpointed,
  state: S,
  options: CheckpointOptions,
): void {
  const { variables, optimizer, statistics = [] } = checkpointed;
  mkdirSync(directory, { recursive: true });
  const previous = readState<S>(directory);
  const adam = optimizer.state();
  const named: Record<string, tf.Tensor> = {};
  variables.forEach((v, i) => (named[`variable/${i}`] = v));
  statistics.forEach((v, i) => (named[`statistic/${i}`] = v.read()));
  adam.moments.forEach((m, i) => (named[`moment/${i}`] = m));
  named['adam/beta1'] = adam.beta1;
  named['adam/beta2'] = adam.beta2;
  const blob = encodeWeights(tensorsToWeights(named), { generatedBy: GENERATED_BY });
  const digest = sha256Digest(blob);
  const tensorsFile = `checkpoint.${digest.slice(7, 23)}.bin`;
  writeFileSync(join(directory, `${tensorsFile}.tmp`), blob);
  renameSync(join(directory, `${tensorsFile}.tmp`), join(directory, tensorsFile));
  const stored: Stored<S> = {
    ...state,
    tensorsFile,
    digest,
    ...(options.fingerprint !== undefined ? { fingerprint: options.fingerprint } : {}),
    moments: adam.moments.length,
    iterations: adam.iterations,
  };
  writeFileSync(join(directory, `${STATE_FILE}.tmp`), JSON.stringify(stored));
  renameSync(join(directory, `${STATE_FILE}.tmp`), join(directory, STATE_FILE));
  if (previous && previous.tensorsFile !== tensorsFile)
    rmSync(join(directory, previous.tensorsFile), { force: true });
}

function readState<S>(directory: string): Stored<S> | undefined {
  let text: string;
  try {
    text = readFileSync(join(directory, STATE_FILE), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const parsed = JSON.parse(text) as Stored<S>;
    if (typeof parsed !== 'object' || parsed === null || typeof parsed.tensorsFile !== 'string')
      throw new Error('not a checkpoint');
    return parsed;
  } catch {
    throw corrupt(directory, `has a ${STATE_FILE} that is not a checkpoint's`);
  }
}

/**
 * Restores the last checkpoint into the variables, statistics and optimizer and returns its
 * state; undefined when there is none, or when it was written under another fingerprint
 * (then it is removed and `onStale` is told). A damaged one is E_CHECKPOINT_CORRUPT.
 */
export function restoreCheckpoint<S extends CheckpointState>(
  directory: string,
  checkpointed: Checkpointed,
  options: CheckpointOptions = {},
): S | undefined {
  const { variables, optimizer, statistics = [] } = checkpointed;
  const stored = readState<S>(directory);
  if (!stored) return undefined;
  if (options.fingerprint !== undefined && stored.fingerprint !== options.fingerprint) {
    options.onStale?.(`the checkpoint in ${directory} was written for other inputs; starting over`);
    removeCheckpoint(directory);
    return undefined;
  }
  let blob: Uint8Array;
  try {
    blob = readFileSync(join(directory, stored.tensorsFile));
  } catch {
    throw corrupt(directory, `names ${stored.tensorsFile}, which cannot be read`);
  }
  if (sha256Digest(blob) !== stored.digest) throw corrupt(directory, 'does not match its digest');
  const tensors = weightsToTensors(decodeWeights(blob).tensors);
  try {
    const count = (prefix: string) => Object.keys(tensors).filter((k) => k.startsWith(prefix)).length;
    const shapesMatch = variables.every((v, i) => {
      const t = tensors[`variable/${i}`];
      return t !== undefined && t.shape.join() === v.shape.join() && t.dtype === v.dtype;
    });
    if (
      count('variable/') !== variables.length ||
      !shapesMatch ||
      count('statistic/') !== statistics.length ||
      count('moment/') !== stored.moments ||
      !tensors['adam/beta1'] ||
      !tensors['adam/beta2']
    )
      throw corrupt(directory, 'holds other tensors than this network trains (another recipe or version)');
    variables.forEach((v, i) => v.assign(tensors[`variable/${i}`]!));
    statistics.forEach((v, i) => v.write(tensors[`statistic/${i}`]!));
    optimizer.restoreState({
      moments: Array.from({ length: stored.moments }, (_, i) => tensors[`moment/${i}`]!),
      beta1: tensors['adam/beta1'],
      beta2: tensors['adam/beta2'],
      iterations: stored.iterations,
    });
  } finally {
    tf.dispose(Object.values(tensors));
  }
  const { tensorsFile: _f, digest: _d, fingerprint: _p, moments: _m, iterations: _i, ...state } = stored;
  return state as unknown as S;
}

/** Removes a checkpoint folder (a finished run's, or one to start over). */
export function removeCheckpoint(directory: string): void {
  rmSync(directory, { recursive: true, force: true });
}
