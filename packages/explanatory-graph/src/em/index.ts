/**
 * The per-layer EM of the explanatory graph (docs/methods.md §3.5), on flat typed arrays:
 * the layer state and records (`state`), the E-step (`e-step`, with its smoothing tables in
 * `window`), the M-step (`m-step`), parent selection (`parents`) and the parent-conditioned
 * prior (`prior`).
 */
export {
  ACC_WIDTH,
  emptyRecords,
  flatPrior,
  initLayer,
  layerParams,
  nodeCount,
  type EvidenceMaps,
  type GraphLayerState,
  type InitLayerOptions,
  type LayerGeometry,
  type LayerParams,
  type Prior,
  type Records,
} from './state';
export { searchWindow, type SearchWindow } from './window';
export { LayerEStep, type EStepInput } from './e-step';
export { mStep, minStdPerNode, type MStepInput } from './m-step';
export { meanPositions, parentCandidates, selectParents, type SelectParentsOptions } from './parents';
export { parentPrior, type ParentPriorOptions } from './prior';
