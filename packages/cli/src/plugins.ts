import { PluginRegistry } from '@transplant/composer';
import { adapterConv } from '@transplant/plugin-adapter-conv';
import { importedCategory, importedCls, importedSeg } from '@transplant/plugin-layers-graph';
import { categoryVgg } from '@transplant/plugin-category-vgg';
import { taskCls } from '@transplant/plugin-task-cls';
import { taskSeg } from '@transplant/plugin-task-seg';

/** The module plugins Transplant ships, registered here at the composition root (no import side effects). */
export function builtinPlugins(): PluginRegistry {
  return new PluginRegistry([
    categoryVgg,
    taskCls,
    taskSeg,
    adapterConv,
    importedCategory,
    importedCls,
    importedSeg,
  ]);
}
