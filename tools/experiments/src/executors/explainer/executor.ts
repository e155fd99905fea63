import { runExplainer, type ExplainerOptions } from '../../explainer';
import { toolExecutor } from '@transplant/nx-plugin';
import schema from './schema.json';

/** `nx run experiments:explainer`: explainers of zoo classifiers and the river diagnosis (docs/methods.md §9.4), in-process. */
export default toolExecutor<ExplainerOptions>(runExplainer, schema);
