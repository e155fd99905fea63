export { importedCategory } from './imported-category';
export { importedCls } from './imported-cls';
export { importedSeg } from './imported-seg';
export { LayersGraphOptions } from './layers-graph-options';
export { LAYER_CLASSES, type KerasLayer, type LayerClass } from './keras-graph';
