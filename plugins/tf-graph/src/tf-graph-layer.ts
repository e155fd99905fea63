import * as tf from '@tensorflow/tfjs';
import type { GraphSpec } from './graph-nodes';
import { runGraph, type GraphFrame } from './run-graph';

/** What the layer needs: the graph, its frame, and the output shape without the batch axis. */
export type TfGraphConfig = GraphSpec & GraphFrame & { readonly outputShape: readonly number[] };

/**
 * One TensorFlow.js layer that runs an imported TF op graph. Its weights are the graph's float
 * constants (named `<layer>/<constant>`), so they load, save and freeze like any layer's; the
 * graph runs eagerly with differentiable tfjs ops, so gradients flow through it.
 */
export class TfGraphLayer extends tf.layers.Layer {
  static readonly className = 'TransplantTfGraph';
  private readonly graph: TfGraphConfig;
  private readonly variables = new Map<string, tf.LayerVariable>();

  private readonly seed: number;

  constructor(args: { graph: TfGraphConfig; name?: string; trainable?: boolean; seed?: number }) {
    super({ ...(args.name ? { name: args.name } : {}), trainable: args.trainable ?? true });
    this.graph = args.graph;
    this.seed = args.seed ?? 0;
  }

  override build(): void {
    // Seeded Glorot for kernels, zeros for vectors: a fresh module is usable; imports overwrite them.
    this.graph.weights.forEach((w, i) =>
      this.variables.set(
        w.name,
        this.addWeight(
          w.name,
          [...w.shape],
          'float32',
          w.shape.length >= 2
            ? tf.initializers.glorotUniform({ seed: this.seed + 64 * i })
            : tf.initializers.zeros(),
          undefined,
          true,
        ),
      ),
    );
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const batch = (Array.isArray(inputShape[0]) ? (inputShape[0] as tf.Shape) : (inputShape as tf.Shape))[0];
    return [batch ?? null, ...this.graph.outputShape];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    return tf.tidy(() => runGraph(this.graph, x, (name) => this.variables.get(name)!.read()));
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      seed: this.seed,
      graph: this.graph as unknown as tf.serialization.ConfigDictValue,
    };
  }
}
tf.serialization.registerClass(TfGraphLayer);
