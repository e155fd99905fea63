/** Test helpers of @transplant/hub: a registry with every kind of page in it. */
export {
  HUB_FIXTURE,
  REPORT_PICTURE,
  WORKSPACE_REGISTRY,
  copyFolder,
  writeHubRegistry,
  type AdapterMaker,
} from './hub-registry';
export { snapshotFolder } from '@transplant/registry/testing';
