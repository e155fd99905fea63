import { runRenderBench, type RenderBenchOptions } from '../../render-bench';
import { toolExecutor } from '@transplant/nx-plugin';
import schema from './schema.json';

/** `nx run bench:render`: rendering synthetic images, in-process. */
export default toolExecutor<RenderBenchOptions>(runRenderBench, schema);
