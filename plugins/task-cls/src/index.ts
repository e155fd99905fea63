export { TaskClsOptions, taskCls } from './task-cls';
