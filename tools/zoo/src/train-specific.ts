import * as tf from '@tensorflow/tfjs';
import {
  addCounts,
  taskCounts,
  taskLoss,
  taskMetric,
  type Network,
  type TaskCounts,
} from '@transplant/composer';
import type { TaskId } from '@transplant/core';
import { disposeBatch } from '@transplant/data';
import { restoreCheckpoint, saveCheckpoint } from './checkpoint';
import { ScheduledAdam } from './scheduled-adam';
import type { ZooData } from './zoo-data';
import type { TrainingPlan } from './zoo-spec';

export interface TrainArgs {
  readonly network: Network;
  readonly link: { readonly category: string; readonly task: string };
  readonly task: TaskId;
  readonly data: ZooData;
  readonly plan: TrainingPlan;
  readonly checkpointDir: string;
  /** Progress lines; a throw from here stops training like a kill would (the last checkpoint stays). */
  readonly log: (line: string) => void;
  /** Log every this many steps (default 25). */
  readonly progressEvery?: number;
}

const target = (task: TaskId, batch: { labels: tf.Tensor; masks: tf.Tensor }) =>
  task === 'cls' ? batch.labels : batch.masks;

/**
 * The learning rate at a step: `learningRate`, times `decayTo` once at `decayAt` of the minimum
 * steps and once more at each of `laterDecays` (shares of the step cap). A function of the step
 * alone, so that a resumed run follows the same schedule.
 */
export function learningRateAt(plan: TrainingPlan, step: number): number {
  const decaySteps = [
    Math.round(plan.steps * plan.decayAt),
    ...(plan.laterDecays ?? []).map((share) => Math.round(plan.maxSteps * share)),
  ];
  return plan.learningRate * plan.decayTo ** decaySteps.filter((at) => step >= at).length;
}

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
  const optimizer = new ScheduledAdam(plan.learningRate);
  const restored = await restoreCheckpoint(args.checkpointDir, variables, optimizer, statistics);
  if (restored)
    log(`resuming at step ${restored.step} (checks from step ${plan.steps}, at most ${plan.maxSteps})`);
  let step = restored?.step ?? 0;
  let wallSeconds = restored?.wallSeconds ?? 0;
  let smoothed = NaN;
  let since = performance.now();
  const started = step;
  let validation: { name: string; value: number } | undefined;
  for (; step < plan.maxSteps; step++) {
    optimizer.setLearningRate(learningRateAt(plan, step));
    const batch = data.trainBatch(step, plan.batchSize, plan.positives);
    const loss = optimizer.minimize(
      () => taskLoss(task, model.apply(batch.images, { training: true }) as tf.Tensor, target(task, batch)),
      true,
      variables,
    )!;
    const value = loss.dataSync()[0]!;
    smoothed = Number.isNaN(smoothed) ? value : 0.95 * smoothed + 0.05 * value;
    loss.dispose();
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
      validation = evaluateSpecific(network, link, task, data, 'val')[0]!;
      log(
        `step ${done}: val ${validation.name} ${validation.value.toFixed(4)} (goal ${plan.goal.metric === 'error-rate' ? '≤' : '≥'} ${plan.goal.value})`,
      );
      since = performance.now();
      if (meetsGoal(plan, validation.value)) {
        step = done;
        break;
      }
    }
    if ((done % plan.checkpointEvery === 0 || check) && done < plan.maxSteps)
      await saveCheckpoint(args.checkpointDir, { step: done, wallSeconds }, variables, optimizer, statistics);
  }
  if (step === started) log('already trained to the last step');
  optimizer.dispose();
  return { steps: step, wallSeconds, finalLoss: smoothed, ...(validation ? { validation } : {}) };
}

/** The link's held-out metrics: cls error rate; seg IoU on positives and IoU counting false masks on negatives. */
export function evaluateSpecific(
  network: Network,
  link: { category: string; task: string },
  task: TaskId,
  data: ZooData,
  split: 'val' | 'test' = 'test',
): { name: string; value: number }[] {
  const refs = data.heldOutRefs(split);
  let all: TaskCounts = { a: 0, b: 0 };
  let positives: TaskCounts = { a: 0, b: 0 };
  for (let start = 0; start < refs.length; start += 50) {
    const chunk = refs.slice(start, start + 50);
    const batch = data.heldOutBatch(chunk);
    const logits = network.run(link.category, link.task, batch.images);
    all = addCounts(all, taskCounts(task, logits, target(task, batch)));
    const positive = chunk.map((r) => r.category === data.category);
    if (task === 'seg' && positive.every(Boolean))
      positives = addCounts(positives, taskCounts(task, logits, batch.masks));
    else if (task === 'seg' && positive.some(Boolean))
      throw new Error('evaluation chunks must not mix positives and negatives');
    logits.dispose();
    disposeBatch(batch);
  }
  if (task === 'cls') return [taskMetric('cls', all)];
  return [
    { name: 'iou', value: taskMetric('seg', positives).value },
    { name: 'iou-with-negatives', value: taskMetric('seg', all).value },
  ];
}
