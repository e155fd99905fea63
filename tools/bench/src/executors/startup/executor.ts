import { runStartupBench, type StartupBenchOptions } from '../../startup-bench';
import { toolExecutor } from '@transplant/nx-plugin';
import schema from './schema.json';

/** `nx run bench:startup`: the CLI's start-up time and installed size. */
export default toolExecutor<StartupBenchOptions>(runStartupBench, schema);
