/**
 * @transplant/distill — back-distillation (methods.md §4) and the ordinary-learning baseline:
 * trains only the adapter between a frozen category module and a frozen task module.
 */
export { adapterForward, adapterVjp, convReluChain } from './adapter-vjp';
export { bdLoss, disposeTargets, pseudoLabelProbe, studentGradient, taskProbeGradient, teacherTargets, type BdWeights, type TeacherFn, type TeacherTargets } from './bd-loss';
export { METHODS, METHOD_WEIGHTS, trainAdapter, type AdapterLink, type DistillMethod, type ProbeKind, type TrainAdapterArgs } from './train-adapter';
export { fitCalibration, linkOf, presenceScore, resolveTeacher, teacherFunction, type Calibration, type SpecificNetwork, type TeacherResolution } from './teacher';
export { transplant, type TransplantOptions, type TransplantResult } from './transplant';
export { HELD_OUT, NEGATIVES, TransplantData } from './transplant-data';
export { lossCurvePng } from './loss-curve';
export { writeTransplantReport } from './report';
