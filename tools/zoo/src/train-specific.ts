import * as tf from '@tensorflow/tfjs';
import {
  addCounts,
  taskCounts,
  taskLoss,
  taskMetric,
  type Network,
  type TaskCounts,
} from '@transplant/composer';
import {
  AdamTrainer,
  restoreCheckpoint,
  saveCheckpoint,
  TASKS,
  smoothLoss,
  stepDecay,
  type LearningRateSchedule,
  type TaskId,
} from '@transplant/core';
import { disposeBatch, type CategoryVsRest } from '@transplant/data';

import { heldOutCounts } from './zoo-data';
import type { TrainingPlan } from './zoo-spec';

export interface TrainArgs {
  readonly network: Network;
  readonly link: { readonly category: string; readonly task: string };
  readonly task: TaskId;
  readonly data: CategoryVsRest;
  readonly plan: TrainingPlan;
  readonly checkpointDir: string;
  /** Progress lines; a throw from here stops training like a kill would (the last checkpoint stays). */
  readonly log: (line: string) => void;
  /** Log every this many steps (default 25). */
  readonly progressEvery?: number;
}

const target = (task: TaskId, batch: { labels: tf.Tensor; masks: tf.Tensor }) => batch[TASKS[task].target];

/**
 * The learning rate at a step: `learningRate`, times `decayTo` once at `decayAt` of the minimum
 * steps and once more at each of `laterDecays` (shares of the step cap). A function of the step
 * alone, so that a resumed run follows the same schedule.
 */
export function planSchedule(plan: TrainingPlan): LearningRateSchedule {
  return stepDecay({
    learningRate: plan.learningRate,
    decayTo: plan.decayTo,
    at: [
      Math.round(plan.steps * plan.decayAt),
      ...(plan.laterDecays ?? []).map((share) => Math.round(plan.maxSteps * share)),
    ],
  });
}

export const learningRateAt = (plan: TrainingPlan, step: number): number => planSchedule(plan)(step);

/** Whether a validation value meets the plan's goal (error rate at most, IoU at least, the goal's value). */
export const meetsGoal = (plan: TrainingPlan, value: number) =>
  plan.goal.metric === 'error-rate' ? value <= plan.goal.value : value >= plan.goal.value;

/**
 * Trains both modules of a specific network on the data stream with Adam, showing progress
 * and writing a checkpoint every `plan.checkpointEvery` steps; resumes from the last one.
 */
export async function trainSpecific(args: TrainArgs): Promise<{
  steps: number;
  wallSeconds: number;
  finalLoss: number;
  validation?: { name: string; value: number };
}> {
  const { network, link, task, data, plan, log } = args;
  const model = network.model(link.category, link.task);
  const variables = network.setTrainable([link.category, link.task]).map((v) => v.read() as tf.Variable);
  // Non-trainable weights that training moves (BN moving averages) are checkpointed too.
  const statistics = [link.category, link.task].flatMap((name) =>
    network.modules.get(name)!.built.layers.flatMap((layer) => layer.nonTrainableWeights),
  );
  const trainer = new AdamTrainer(variables, planSchedule(plan));
  const restored = restoreCheckpoint(args.checkpointDir, {
    variables,
    optimizer: trainer.optimizer,
    statistics,
  });
  if (restored)
    log(`resuming at step ${restored.step} (checks from step ${plan.steps}, at most ${plan.maxSteps})`);
  let step = restored?.step ?? 0;
  let wallSeconds = restored?.wallSeconds ?? 0;
  let smoothed = NaN;
  let since = performance.now();
  const started = step;
  let validation: { name: string; value: number } | undefined;
  for (; step < plan.maxSteps; step++) {
    const batch = data.trainBatch(step, plan.batchSize, plan.positives);
    const value = trainer.step(step, () =>
      taskLoss(task, model.apply(batch.images, { training: true }) as tf.Tensor, target(task, batch)),
    );
    smoothed = smoothLoss(smoothed, value);
    disposeBatch(batch);
    const done = step + 1;
    const check = done >= plan.steps && (done - plan.steps) % plan.checkEvery === 0;
    if (done % (args.progressEvery ?? 25) === 0 || check) {
      const now = performance.now();
      wallSeconds += (now - since) / 1000;
      since = now;
      const perStep = wallSeconds / done;
      const nextCheck =
        done < plan.steps
          ? plan.steps
          : plan.steps + Math.ceil((done - plan.steps + 1) / plan.checkEvery) * plan.checkEvery;
      const left = check
        ? 'validating'
        : `ETA ${Math.round(perStep * (nextCheck - done))} s to the check at step ${nextCheck}`;
      log(
        `step ${done}/${plan.steps}…${plan.maxSteps}  loss ${smoothed.toFixed(4)}  ${(perStep * 1000).toFixed(0)} ms/step  ${left}`,
      );
    }
    if (check) {
      validation = evaluateSpecific({ network, link }, { task, data, split: 'dev' })[0]!;
      log(
        `step ${done}: dev ${validation.name} ${validation.value.toFixed(4)} (goal ${plan.goal.metric === 'error-rate' ? '≤' : '≥'} ${plan.goal.value})`,
      );
      since = performance.now();
      if (meetsGoal(plan, validation.value)) {
        step = done;
        break;
      }
    }
    if ((done % plan.checkpointEvery === 0 || check) && done < plan.maxSteps)
      saveCheckpoint(
        args.checkpointDir,
        { variables, optimizer: trainer.optimizer, statistics },
        { step: done, wallSeconds },
      );
  }
  if (step === started) log('already trained to the last step');
  trainer.dispose();
  return { steps: step, wallSeconds, finalLoss: smoothed, ...(validation ? { validation } : {}) };
}

/** The link's held-out metrics: cls error rate; seg IoU on positives and IoU counting false masks on negatives. */
export function evaluateSpecific(
  { network, link }: { readonly network: Network; readonly link: { category: string; task: string } },
  options: {
    readonly task: TaskId;
    readonly data: CategoryVsRest;
    /** Held-out split (default: the final test when the data was made for a final run, else dev). */
    readonly split?: 'dev' | 'test';
  },
): { name: string; value: number }[] {
  const { task, data, split = data.options.finalTest ? 'test' : 'dev' } = options;
  const refs = data.heldOut(split, heldOutCounts(split));
  let all: TaskCounts = { a: 0, b: 0 };
  let positives: TaskCounts = { a: 0, b: 0 };
  for (let start = 0; start < refs.length; start += 50) {
    const chunk = refs.slice(start, start + 50);
    const batch = data.batch(chunk);
    const logits = network.run(link.category, link.task, batch.images);
    all = addCounts(all, taskCounts(task, logits, target(task, batch)));
    const positive = chunk.map((r) => r.category === data.category);
    const onPositives = TASKS[task].metricOn === 'positives';
    if (onPositives && positive.every(Boolean))
      positives = addCounts(positives, taskCounts(task, logits, batch.masks));
    else if (onPositives && positive.some(Boolean))
      throw new Error('evaluation chunks must not mix positives and negatives');
    logits.dispose();
    disposeBatch(batch);
  }
  if (TASKS[task].metricOn === 'all') return [taskMetric(task, all)];
  const metric = taskMetric(task, positives);
  return [metric, { name: `${metric.name}-with-negatives`, value: taskMetric(task, all).value }];
}
