import { runRegistryBench, type RegistryBenchOptions } from '../../registry-bench';
import { toolExecutor } from '@transplant/nx-plugin';
import schema from './schema.json';

/** `nx run bench:registry`: registry publish and fetch, in-process. */
export default toolExecutor<RegistryBenchOptions>(runRegistryBench, schema);
