import { runGenericGrowth, type GenericGrowthOptions } from '../../generic-growth';
import { toolExecutor } from '@transplant/nx-plugin';
import schema from './schema.json';

/** `nx run bench:generic-growth`: growing a generic network, in-process. */
export default toolExecutor<GenericGrowthOptions>(runGenericGrowth, schema);
