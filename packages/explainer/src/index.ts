/**
 * @transplant/explainer — explainer networks (docs/methods.md §5): a frozen performer's features
 * re-expressed through an interpretable track (part masks + filter loss) and an ordinary track
 * fused with a learned ratio p, decoded into the performer's higher features; the quantitative
 * explanation (p, filter groups by part and their shares, per image) and fidelity.
 */
export {
  EXPLAINER_DEFAULTS,
  Explainer,
  explainedLogit,
  explainedOutput,
  performerOf,
  unitRms,
  type ExplainedOutput,
  type ExplainerOptions,
  type PerformerOptions,
  type Forward,
  type Performer,
} from './explainer';
export {
  TRAINING_DEFAULTS,
  converged,
  featurePool,
  poolScale,
  trainExplainer,
  type ExplainerCurve,
  type ExplainerTraining,
  type ExplainerTrainingResult,
  type FeaturePool,
} from './train';
export { RANDOMISATIONS, randomiseUpperLayers, type Randomisation } from './randomise';
export {
  TEXTURE_RULE,
  assignGroups,
  explain,
  fidelity,
  hasTextureAnnotation,
  imageTensor,
  talkKindOf,
  talkShares,
  textureChance,
  type Explanation,
  type FilterGroup,
  type FilterReport,
  type GroupShare,
  type ImageExplanation,
  type PerformerAndExplainer,
  type TalkKind,
  type TalkShare,
  type TalkShares,
  type TextureEvidence,
} from './explain';
export { renderCurves, renderGroupHeatmaps } from './pictures';
export { explainPerformer, type ExplainRunOptions, type ExplainRunResult } from './run';
export { explainImage, type ExplainImageOptions, type ImageExplanationReport } from './explain-image';
export {
  explainSummaryLines,
  formatExplainReport,
  talkLine,
  talkRows,
  writeExplainReport,
  type ExplainReport,
} from './explain-report';
export { EXPLANATION_REPORT_ATTACHMENT, explainNetwork, type ExplainNetworkOptions } from './explain-network';
export { EXPLAIN_COMMAND_DEFAULTS } from './options';
export { groupFilters, groupUnit, type GroupFiltersOptions } from './visualize-groups';
