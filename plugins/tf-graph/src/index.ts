export { graphCategory, graphCls, graphSeg, TfGraphOptions, MAX_STATIC_ELEMENTS } from './tf-graph';
export { OPS } from './graph-ops';
export { runGraph, type GraphFrame } from './run-graph';
export { TfGraphLayer } from './tf-graph-layer';
export type { AttrValue, GraphNode, StaticValue, WeightSpec } from './graph-nodes';
