import type { ModuleInstance } from './module-instance';

/** What a task module's last layer ends in: nothing (logits), a softmax or a sigmoid. */
export type HeadActivation = 'none' | 'softmax' | 'sigmoid';

/**
 * The activation the head's last layer ends in: a Keras activation or layer, or an imported TF
 * op. Transplant's own heads output logits; imported classifiers often end in a softmax.
 */
export function headActivation(task: ModuleInstance): HeadActivation {
  const last = task.model.layers.filter((l) => l.getClassName() !== 'InputLayer').at(-1);
  if (!last) return 'none';
  const config = last.getConfig();
  const name = last.getClassName();
  const op = String((config['op'] as { node?: { op?: unknown } } | undefined)?.node?.op ?? '');
  const activation = String(config['activation'] ?? '');
  if (name === 'Softmax' || op === 'Softmax' || activation === 'softmax') return 'softmax';
  if (op === 'Sigmoid' || activation === 'sigmoid') return 'sigmoid';
  return 'none';
}
