/**
 * Runs experiment targets in this process, one after another, as `nx run experiments:NAME`
 * would, for tests that need them as a process of their own (killed and started again):
 *   run-experiment.ts paper-table '{"tune":true,…}' '{…}'
 */
import { runPaperTable, type PaperTableOptions } from '../paper-table';

const RUNNERS = {
  'paper-table': (options: Partial<PaperTableOptions>) => runPaperTable(options),
} as const;

const [name, ...phases] = process.argv.slice(2);
const runner = RUNNERS[name as keyof typeof RUNNERS];
if (!runner) throw new Error(`run-experiment: unknown experiment "${String(name)}"`);
for (const phase of phases) await runner(JSON.parse(phase) as Partial<PaperTableOptions>);
