export {
  AdamTrainer,
  ScheduledAdam,
  constantRate,
  smoothLoss,
  stepDecay,
  type LearningRateSchedule,
  type StepDecayOptions,
} from './adam-trainer';
export {
  removeCheckpoint,
  restoreCheckpoint,
  saveCheckpoint,
  type CheckpointOptions,
  type CheckpointState,
  type Checkpointed,
} from './checkpoint';
export { RunFolder } from './run-folder';
