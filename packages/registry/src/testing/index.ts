/** Test helpers of @transplant/registry: fixtures, a local OCI registry, the shared operation suite's harnesses. */
export { moduleFixture, type FixtureOptions } from './module-fixture';
export { DISTRIBUTION_BINARY, startLocalRegistry, type LocalRegistry } from './local-oci-registry';
export { VGG16_SHAPES, scaledShapes, writeBigModule, type TensorShape } from './big-module';
export { snapshotFolder } from './operation-suite';
