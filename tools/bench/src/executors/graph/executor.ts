import { runGraphBench, type GraphBenchOptions } from '../../graph-bench';
import { toolExecutor } from '@transplant/nx-plugin';
import schema from './schema.json';

/** `nx run bench:graph`: explanatory-graph mining time, in-process. */
export default toolExecutor<GraphBenchOptions>(runGraphBench, schema);
