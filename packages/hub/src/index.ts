/**
 * @transplant/hub — a read-only web app over any registry: the list of modules and networks,
 * module cards, the lineage graph, generic network matrices, attachments (explanatory graphs in
 * their browser view), and networks run in the browser with stock TensorFlow.js (docs/hub.md).
 */
export { HUB_LIMITS, Hub, displayLocation, startHub, type HubHandle, type HubOptions } from './server';
export {
  CatalogReader,
  type BrokenEntry,
  lineageOf,
  matrixOf,
  type Catalog,
  type HubEntry,
  type HubMatrix,
  type Lineage,
} from './catalog';
