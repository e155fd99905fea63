import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import {
  decodeWeights,
  encodeWeights,
  sha256Digest,
  tensorsToWeights,
  weightsToTensors,
  type ScheduledAdam,
} from '@transplant/core';

/** What a checkpoint restores: the next step, the wall time so far, every trainable variable, the layers' statistics (BN moving averages) and the optimizer's state. */
export interface CheckpointState {
  readonly step: number;
  readonly wallSeconds: number;
}

/** What a checkpoint holds besides its state: the trainable variables, the optimizer and the layers' statistics. */
export interface Checkpointed {
  readonly variables: readonly tf.Variable[];
  readonly optimizer: ScheduledAdam;
  /** Non-trainable weights that training moves (BN moving averages); default none. */
  readonly statistics?: readonly tf.LayerVariable[];
}

const FILES = { state: 'checkpoint.json', tensors: 'checkpoint.bin' } as const;

/**
 * Writes variables and optimizer state; the JSON (written last, by rename) names the
 * tensors' digest, so a run killed mid-write leaves the previous checkpoint intact.
 */
export async function saveCheckpoint(
  directory: string,
  checkpointed: Checkpointed,
  state: CheckpointState,
): Promise<void> {
  const { variables, optimizer, statistics = [] } = checkpointed;
  await mkdir(directory, { recursive: true });
  const previous = await readState(directory);
  const optimizerWeights = await optimizer.getWeights();
  const named: Record<string, tf.Tensor> = {};
  variables.forEach((v, i) => (named[`variable/${i}`] = v));
  statistics.forEach((v, i) => (named[`statistic/${i}`] = v.read()));
  optimizerWeights.forEach((w, i) => (named[`optimizer/${i}`] = w.tensor));
  [named['bias-correction/beta1'], named['bias-correction/beta2']] = optimizer.biasCorrection();
  const blob = encodeWeights(tensorsToWeights(named), { generatedBy: 'transplant-zoo/0.1.0' });
  // getWeights() makes a fresh scalar for the iteration count; the accumulators are the optimizer's own variables.
  optimizerWeights.filter((w) => w.name === 'iter').forEach((w) => w.tensor.dispose());
  const digest = sha256Digest(blob);
  const tensorsFile = `${FILES.tensors}.${digest.slice(7, 19)}`;
  await writeFile(join(directory, tensorsFile), blob);
  const json = { ...state, tensorsFile, digest, optimizerNames: optimizerWeights.map((w) => w.name) };
  await writeFile(join(directory, `${FILES.state}.tmp`), JSON.stringify(json));
  await rename(join(directory, `${FILES.state}.tmp`), join(directory, FILES.state));
  if (previous && previous.tensorsFile !== tensorsFile)
    await rm(join(directory, previous.tensorsFile), { force: true });
}

type StoredState = CheckpointState & { tensorsFile: string; digest: string; optimizerNames: string[] };

async function readState(directory: string): Promise<StoredState | undefined> {
  try {
    return JSON.parse(await readFile(join(directory, FILES.state), 'utf8')) as StoredState;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Restores the last checkpoint into the variables and optimizer; undefined when there is none. */
export async function restoreCheckpoint(
  directory: string,
  checkpointed: Checkpointed,
): Promise<CheckpointState | undefined> {
  const { variables, optimizer, statistics = [] } = checkpointed;
  const json = await readState(directory);
  if (!json) return undefined;
  const blob = await readFile(join(directory, json.tensorsFile));
  if (sha256Digest(blob) !== json.digest)
    throw new Error(
      `checkpoint ${directory} is corrupt (digest); delete the folder to start this network again`,
    );
  const tensors = weightsToTensors(decodeWeights(blob).tensors);
  if (!tensors['bias-correction/beta1'] || !tensors['bias-correction/beta2']) {
    tf.dispose(Object.values(tensors));
    throw new Error(
      `checkpoint ${directory} was written by an older zoo (no bias-correction state); delete the folder to start this network again`,
    );
  }
  const stored = Object.keys(tensors).filter((k) => k.startsWith('statistic/')).length;
  if (stored !== statistics.length) {
    tf.dispose(Object.values(tensors));
    throw new Error(
      `checkpoint ${directory} holds ${stored} layer statistics, the network has ${statistics.length} (another recipe); delete the folder to start this network again`,
    );
  }
  variables.forEach((v, i) => v.assign(tensors[`variable/${i}`]!));
  statistics.forEach((v, i) => v.write(tensors[`statistic/${i}`]!));
  await optimizer.setWeights(
    json.optimizerNames.map((name, i) => ({ name, tensor: tensors[`optimizer/${i}`]! })),
  );
  optimizer.restoreBiasCorrection(tensors['bias-correction/beta1']!, tensors['bias-correction/beta2']!);
  tf.dispose(Object.values(tensors));
  return { step: json.step, wallSeconds: json.wallSeconds };
}

export async function removeCheckpoint(directory: string): Promise<void> {
  await rm(directory, { recursive: true, force: true });
}
