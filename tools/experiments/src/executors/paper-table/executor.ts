import { runPaperTable, type PaperTableOptions } from '../../paper-table';
import { toolExecutor } from '@transplant/nx-plugin';
import schema from './schema.json';

/** `nx run experiments:paper-table`: network transplanting on the zoo (docs/methods.md §9.1), in-process. */
export default toolExecutor<PaperTableOptions>(runPaperTable, schema);
