export { nested, outcomeOf, picker, seededRandom, slots, type Pick } from './fuzz';
export { FILE_SWAPS, mutateBytes, swapFile, swapSupport, type FileSwap } from './fuzz-files';
export { manifestFixture } from '../contracts/fixtures';
export {
  killAndResume,
  runScript,
  type CliRun,
  type KillAt,
  type KillResumeOptions,
  type KillResumeOutcome,
} from './kill-resume';
