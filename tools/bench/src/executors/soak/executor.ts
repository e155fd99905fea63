import { runSoak, type SoakOptions } from '../../soak';
import { toolExecutor } from '@transplant/nx-plugin';
import schema from './schema.json';

/** `nx run bench:soak`: memory over long runs; each phase in a fresh child process unless --no-isolate. */
export default toolExecutor<SoakOptions>(async (options) => {
  await runSoak(options);
}, schema);
