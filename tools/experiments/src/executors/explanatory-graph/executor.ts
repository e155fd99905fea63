import { runExplanatoryGraph, type ExplanatoryGraphOptions } from '../../explanatory-graph';
import { toolExecutor } from '@transplant/nx-plugin';
import schema from './schema.json';

/** `nx run experiments:explanatory-graph`: explanatory graphs of the zoo classifiers (docs/methods.md §9.3, §3.7), in-process. */
export default toolExecutor<ExplanatoryGraphOptions>(runExplanatoryGraph, schema);
