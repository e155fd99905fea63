import { runInterpretableSweep, type InterpretableSweepOptions } from '../../interpretable-sweep';
import { toolExecutor } from '@transplant/nx-plugin';
import schema from './schema.json';

/** `nx run experiments:interpretable-sweep`: the interpretable-layer sweep on dev, and the chosen cell on the final test (docs/results.md). */
export default toolExecutor<InterpretableSweepOptions>(runInterpretableSweep, schema);
