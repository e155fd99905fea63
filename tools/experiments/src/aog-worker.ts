/** One worker process of `nx run experiments:aog`: its options (with `shard`) as JSON in argv[2]. */
import { runAogExperiment, type AogExperimentOptions } from './aog';

await runAogExperiment(JSON.parse(process.argv[2] ?? '{}') as Partial<AogExperimentOptions>);
