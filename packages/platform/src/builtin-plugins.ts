import type { ModulePlugin } from '@transplant/core';
import { adapterConv } from '@transplant/plugin-adapter-conv';
import { importedCategory, importedCls, importedSeg } from '@transplant/plugin-layers-graph';
import { graphCategory, graphCls, graphSeg } from '@transplant/plugin-tf-graph';
import { categoryVgg } from '@transplant/plugin-category-vgg';
import { taskCls } from '@transplant/plugin-task-cls';
import { taskSeg } from '@transplant/plugin-task-seg';

/** The module plugins Transplant ships; the platform module binds each as a contribution (no import side effects). */
export const BUILTIN_PLUGINS: readonly ModulePlugin[] = [
  categoryVgg,
  taskCls,
  taskSeg,
  adapterConv,
  importedCategory,
  importedCls,
  importedSeg,
  graphCategory,
  graphCls,
  graphSeg,
];
