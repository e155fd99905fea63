import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { AdamTrainer, constantRate, describeMachine } from '@transplant/core';
import { createPlatform } from '@transplant/platform';
import { SyntheticSet, batches, disposeBatch, type CategoryId } from '@transplant/data';

/**
 * How hard is the synthetic set? Trains a small CNN to tell two categories apart (default cat
 * vs dog, which share colours and differ in parts and proportions) and reports the held-out
 * error per epoch. An error near 0 after one epoch would mean the data is too easy to show
 * anything; the zoo and the transplanting experiments need a task a network must learn.
 */
/** Options of `nx run bench:data-difficulty` (its schema.json holds the same names, types and defaults). */
export interface DataDifficultyOptions {
  readonly a: string;
  readonly b: string;
  readonly train: number;
  readonly test: number;
  readonly epochs: number;
  readonly size: number;
  /** Write tools/bench/results/data-difficulty-<a>-vs-<b>.json (`--no-write`: print only). */
  readonly write: boolean;
}

export const DATA_DIFFICULTY_DEFAULTS: DataDifficultyOptions = {
  a: 'cat',
  b: 'dog',
  train: 1000,
  test: 300,
  epochs: 12,
  size: 64,
  write: true,
};

export async function runDataDifficulty(options: Partial<DataDifficultyOptions> = {}): Promise<void> {
  const values = { ...DATA_DIFFICULTY_DEFAULTS, ...options };
  // The composition root of this run: one container.
  const platform = createPlatform(process.env);
  const categories = [values.a, values.b] as CategoryId[];
  const set = new SyntheticSet({
    seed: 'difficulty',
    size: Number(values.size),
    categories,
    perCategory: { train: Number(values.train), dev: 0, test: Number(values.test) },
    negatives: { train: 0, dev: 0, test: 0 },
  });
  const selection = await platform.backendSelector.select({ env: process.env });
  process.stderr.write(
    `back end ${selection.id}; ${set.length('train')} training and ${set.length('test')} test images of ${categories.join(' vs ')}\n`,
  );

  // A small VGG-style classifier: four conv blocks, then dense layers on the 4×4 map (keeps layout).
  const conv = (filters: number, seed: number, { first = false }: { readonly first?: boolean } = {}) =>
    tf.layers.conv2d({
      ...(first ? { inputShape: [set.size, set.size, 3] } : {}),
      filters,
      kernelSize: 3,
      padding: 'same',
      activation: 'relu',
      kernelInitializer: tf.initializers.heNormal({ seed }),
    });
  const model = tf.sequential({
    layers: [
      conv(16, 1, { first: true }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      conv(32, 2),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      conv(64, 3),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      conv(64, 4),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({
        units: 64,
        activation: 'relu',
        kernelInitializer: tf.initializers.heNormal({ seed: 5 }),
      }),
      tf.layers.dense({ units: 1, kernelInitializer: tf.initializers.glorotUniform({ seed: 6 }) }),
    ],
  });
  // Every trainable weight of the model (all of the script's variables, as a bare minimize() took).
  const trainer = new AdamTrainer(
    model.trainableWeights.map((w) => w.read() as tf.Variable),
    constantRate(1e-3),
  );

  function testError(): number {
    let wrong = 0;
    let total = 0;
    for (const batch of batches(set, { split: 'test', mode: { kind: 'multiclass' }, batchSize: 50 })) {
      const predicted = tf.tidy(() => tf.greater(tf.squeeze(model.predict(batch.images) as tf.Tensor), 0));
      const p = predicted.dataSync();
      const l = batch.labels.dataSync();
      p.forEach((v, i) => (wrong += v !== l[i] ? 1 : 0));
      total += p.length;
      predicted.dispose();
      disposeBatch(batch);
    }
    return wrong / total;
  }

  const history: { epoch: number; trainLoss: number; testError: number; seconds: number }[] = [];
  const t0 = performance.now();
  for (let epoch = 1; epoch <= Number(values.epochs); epoch++) {
    let loss = 0;
    let steps = 0;
    for (const batch of batches(set, {
      split: 'train',
      mode: { kind: 'multiclass' },
      batchSize: 32,
      shuffle: epoch,
    })) {
      loss += trainer.step(steps, () => {
        const logits = tf.squeeze(model.apply(batch.images) as tf.Tensor, [1]);
        return tf.losses.sigmoidCrossEntropy(tf.cast(batch.labels, 'float32'), logits) as tf.Scalar;
      });
      steps++;
      disposeBatch(batch);
    }
    const entry = {
      epoch,
      trainLoss: loss / steps,
      testError: testError(),
      seconds: (performance.now() - t0) / 1000,
    };
    history.push(entry);
    process.stdout.write(
      `epoch ${epoch}: train loss ${entry.trainLoss.toFixed(3)}, held-out error ${(entry.testError * 100).toFixed(1)} % (${entry.seconds.toFixed(0)} s)\n`,
    );
  }
  if (values.write) {
    const dir = fileURLToPath(new URL('../results', import.meta.url));
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      `${dir}/data-difficulty-${categories.join('-vs-')}.json`,
      `${JSON.stringify({ measuredAt: new Date().toISOString(), machine: describeMachine(), backend: selection.id, data: set.describe(), history }, null, 2)}\n`,
    );
  }
}
