export {
  schemaViolations,
  toolExecutor,
  type ExecutorSchema,
  type ToolExecutorContext,
} from './tool-executor';
