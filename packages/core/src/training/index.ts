export {
  AdamTrainer,
  ScheduledAdam,
  constantRate,
  smoothLoss,
  stepDecay,
  type LearningRateSchedule,
  type StepDecayOptions,
} from './adam-trainer';
