import { runCliProcess } from './cli-process';

await runCliProcess(process.argv.slice(2));
