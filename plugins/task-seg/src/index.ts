export { TaskSegOptions, taskSeg } from './task-seg';
