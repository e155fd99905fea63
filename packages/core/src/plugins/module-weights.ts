import * as tf from '@tensorflow/tfjs';
import { TransplantError } from '../errors';
import type { BuiltModule } from './module-plugin';

function localName(variable: tf.LayerVariable, prefix: string): string {
  const name = variable.originalName;
  return name.startsWith(prefix) ? name.slice(prefix.length) : name;
}

/**
 * The module's weights keyed by module-local names (`block1_conv1/kernel`): the layer name
 * without the build prefix, then the weight. The values are the live variables' tensors;
 * callers must not dispose them.
 */
export function moduleWeights(built: BuiltModule, prefix: string): Record<string, tf.Tensor> {
  const out: Record<string, tf.Tensor> = {};
  for (const layer of built.layers) {
    for (const variable of layer.weights) out[localName(variable, prefix)] = variable.read();
  }
  return out;
}

/**
 * Loads stored weights into a built module. The names and shapes must match exactly: a blob
 * for other options is refused, never half-loaded.
 */
export function loadModuleWeights(
  { built, prefix }: { readonly built: BuiltModule; readonly prefix: string },
  options: {
    readonly tensors: Readonly<Record<string, tf.Tensor>>;
    /** The module named in errors. */
    readonly module: string;
  },
): void {
  const { tensors, module } = options;
  const variables = built.layers.flatMap((layer) => layer.weights);
  const expected = new Map(variables.map((v) => [localName(v, prefix), v]));
  const problems: string[] = [];
  for (const [name, variable] of expected) {
    const tensor = tensors[name];
    if (!tensor) problems.push(`${name} is missing`);
    else if (!tf.util.arraysEqual(tensor.shape, variable.shape as number[]))
      problems.push(`${name} is [${tensor.shape.join(',')}], the layer needs [${variable.shape.join(',')}]`);
    else if (tensor.dtype !== variable.dtype)
      problems.push(`${name} is ${tensor.dtype}, the layer needs ${variable.dtype}`);
  }
  for (const name of Object.keys(tensors))
    if (!expected.has(name)) problems.push(`${name} belongs to no layer`);
  if (problems.length > 0) {
    throw new TransplantError('E_WEIGHTS_MISMATCH', problems.join('; '), {
      module,
      operation: 'loadWeights',
      details: problems,
    });
  }
  for (const [name, variable] of expected) variable.write(tensors[name]!);
}
