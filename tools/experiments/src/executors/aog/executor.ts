import { runAogExperiment, type AogExperimentOptions } from '../../aog';
import { toolExecutor } from '@transplant/nx-plugin';
import schema from './schema.json';

/** `nx run experiments:aog`: And-Or graphs of semantic parts against today's node retrieval (docs/methods.md §3.8). */
export default toolExecutor<AogExperimentOptions>(runAogExperiment, schema);
