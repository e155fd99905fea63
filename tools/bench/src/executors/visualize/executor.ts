import { runVisualizeBench, type VisualizeBenchOptions } from '../../visualize-bench';
import { toolExecutor } from '@transplant/nx-plugin';
import schema from './schema.json';

/** `nx run bench:visualize`: feature visualization's time per unit, batched and one at a time, in-process. */
export default toolExecutor<VisualizeBenchOptions>(runVisualizeBench, schema);
