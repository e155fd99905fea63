import { runZooTrain, type ZooTrainOptions } from '../../main';
import { toolExecutor } from '@transplant/nx-plugin';
import schema from './schema.json';

/** `nx run zoo:train`: train the model zoo, in-process. */
export default toolExecutor<ZooTrainOptions>(runZooTrain, schema);
