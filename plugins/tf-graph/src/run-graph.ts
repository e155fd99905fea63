import * as tf from '@tensorflow/tfjs';
import { topologicalOrder, type GraphSpec } from './graph-nodes';
import { OPS, type OpInput } from './graph-ops';

/** What a module does around its graph: map the input, pick output channels, resize the output. */
export interface GraphFrame {
  /** The module input is `x × inputScale + inputOffset` before the graph (e.g. unit images → 0–255). */
  readonly inputScale: number;
  readonly inputOffset: number;
  /** Output channels kept, in this order (e.g. the classes chosen from a detector's 80); empty: all. */
  readonly outputChannels: readonly number[];
  /** Bilinear resize of a 4-D output to [H, W] (a seg head's mask at image size); empty: none. */
  readonly outputSize: readonly number[];
}

/**
 * Runs the graph on `x` with TensorFlow.js ops: `weight(name)` gives a float constant's tensor.
 * The caller owns the result; intermediate tensors are the caller's tidy's (a layer's call runs
 * inside one).
 */
export function runGraph(
  spec: GraphSpec & GraphFrame,
  x: tf.Tensor,
  weight: (name: string) => tf.Tensor,
): tf.Tensor {
  const values = new Map<string, OpInput>();
  values.set(
    spec.input,
    spec.inputScale === 1 && spec.inputOffset === 0
      ? x
      : tf.add(tf.mul(x, spec.inputScale), spec.inputOffset),
  );
  for (const [name, value] of Object.entries(spec.statics)) values.set(name, value);
  for (const w of spec.weights) values.set(w.name, weight(w.name));
  for (const node of topologicalOrder(spec)) {
    const op = OPS[node.op];
    if (!op) throw new Error(`node ${node.name}: op ${node.op} is not supported`);
    values.set(
      node.name,
      op.run(
        node.inputs.map((n) => values.get(n)!),
        node.attr,
        node,
      ),
    );
  }
  let out = values.get(spec.output) as tf.Tensor;
  if (spec.outputChannels.length > 0) out = tf.gather(out, [...spec.outputChannels], out.rank - 1);
  if (spec.outputSize.length === 2)
    out = tf.image.resizeBilinear(out as tf.Tensor4D, [spec.outputSize[0]!, spec.outputSize[1]!]);
  return out;
}
