export { graphCategory, graphCls, graphSeg, TfGraphOptions, MAX_STATIC_ELEMENTS } from './tf-graph';
export { OPS } from './graph-ops';
export { TfOpLayer, type TfOpConfig } from './tf-op-layer';
export type { AttrValue, GraphNode, StaticValue, WeightSpec } from './graph-nodes';
