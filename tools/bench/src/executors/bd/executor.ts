import { runBdBench, type BdBenchOptions } from '../../bd-bench';
import { toolExecutor } from '@transplant/nx-plugin';
import schema from './schema.json';

/** `nx run bench:bd`: back-distillation step, in-process. */
export default toolExecutor<BdBenchOptions>(runBdBench, schema);
