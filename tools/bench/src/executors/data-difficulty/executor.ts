import { runDataDifficulty, type DataDifficultyOptions } from '../../data-difficulty';
import { toolExecutor } from '@transplant/nx-plugin';
import schema from './schema.json';

/** `nx run bench:data-difficulty`: difficulty of the synthetic data, in-process. */
export default toolExecutor<DataDifficultyOptions>(runDataDifficulty, schema);
