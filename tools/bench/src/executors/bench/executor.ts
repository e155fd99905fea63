import { runBench, type BenchOptions } from '../../main';
import { toolExecutor } from '@transplant/nx-plugin';
import schema from './schema.json';

/** `nx run bench:bench`: transplant's back ends against PyTorch, in-process. */
export default toolExecutor<BenchOptions>(runBench, schema);
