import { runZooEvaluation, type ZooEvaluationOptions } from '../../zoo-evaluation';
import { toolExecutor } from '@transplant/nx-plugin';
import schema from './schema.json';

/** `nx run experiments:zoo-evaluation`: the zoo's networks on dev, then (`--final`) on the final test. */
export default toolExecutor<ZooEvaluationOptions>(runZooEvaluation, schema);
