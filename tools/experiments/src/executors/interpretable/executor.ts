import { runInterpretable, type InterpretableOptions } from '../../interpretable';
import { toolExecutor } from '@transplant/nx-plugin';
import schema from './schema.json';

/** `nx run experiments:interpretable`: ordinary vs interpretable networks (docs/methods.md §9.2), in-process. */
export default toolExecutor<InterpretableOptions>(runInterpretable, schema);
