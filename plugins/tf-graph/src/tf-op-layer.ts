import * as tf from '@tensorflow/tfjs';
import type { GraphNode, StaticValue, WeightSpec } from './graph-nodes';
import { OPS, type OpInput } from './graph-ops';

/** What one op layer needs: its node, the statics and float constants it reads. */
export interface TfOpConfig {
  readonly node: GraphNode;
  readonly statics: Readonly<Record<string, StaticValue>>;
  /** The float constants the node reads: this layer's weights. */
  readonly weights: readonly WeightSpec[];
}

/**
 * Ops of the module's frame, around the imported graph: `_Scale` maps the image to the model's
 * range (attr scale, offset), `_Channels` keeps output channels (attr channels), `_Resize`
 * resizes bilinearly (attr size).
 */
const FRAME_OPS: Record<string, (x: tf.Tensor, attr: GraphNode['attr']) => tf.Tensor> = {
  _Scale: (x, a) => tf.add(tf.mul(x, Number(a['scale'])), Number(a['offset'])),
  _Channels: (x, a) => tf.gather(x, a['channels'] as number[], x.rank - 1),
  _Resize: (x, a) => tf.image.resizeBilinear(x as tf.Tensor4D, a['size'] as [number, number]),
};

export const isFrameOp = (op: string): boolean => Object.hasOwn(FRAME_OPS, op);

/**
 * One TensorFlow.js layer per TF op node: its weights are the float constants the node reads
 * (`<node>/<constant>`), its data inputs the tensors the node reads, in order. One layer per node
 * lets tfjs free each intermediate as soon as nothing needs it, and lets the tools that address a
 * layer (interpret, graph mining) address any node of an imported graph by its name.
 */
export class TfOpLayer extends tf.layers.Layer {
  static readonly className = 'TransplantTfOp';
  readonly op: TfOpConfig;
  private readonly seed: number;
  private readonly variables = new Map<string, tf.LayerVariable>();

  constructor(args: { op: TfOpConfig; name?: string; trainable?: boolean; seed?: number }) {
    super({ ...(args.name ? { name: args.name } : {}), trainable: args.trainable ?? true });
    this.op = args.op;
    this.seed = args.seed ?? 0;
  }

  /** The names the node reads that arrive as data tensors (not statics, not weights). */
  static dataInputs(op: TfOpConfig): string[] {
    const weights = new Set(op.weights.map((w) => w.name));
    return op.node.inputs.filter((n) => !Object.hasOwn(op.statics, n) && !weights.has(n));
  }

  override build(): void {
    // Seeded Glorot for kernels, zeros for vectors: a fresh module is usable; imports overwrite them.
    this.op.weights.forEach((w, i) =>
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

  /** Runs the op on `data` (the data inputs in order) with the given weight tensors. */
  private run(data: tf.Tensor[], weight: (name: string) => tf.Tensor): tf.Tensor {
    const { node, statics } = this.op;
    const frame = FRAME_OPS[node.op];
    if (frame) return frame(data[0]!, node.attr);
    const def = OPS[node.op];
    if (!def) throw new Error(`node ${node.name}: op ${node.op} is not supported`);
    const weights = new Set(this.op.weights.map((w) => w.name));
    let k = 0;
    const inputs: OpInput[] = node.inputs.map((name) =>
      Object.hasOwn(statics, name) ? statics[name]! : weights.has(name) ? weight(name) : data[k++]!,
    );
    return def.run(inputs, node.attr, node);
  }

  private readonly shapes = new Map<string, tf.Shape>();

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const shapes = (Array.isArray(inputShape[0]) ? inputShape : [inputShape]) as tf.Shape[];
    const key = JSON.stringify(shapes);
    const known = this.shapes.get(key);
    if (known) return known;
    // The op's own shape rules, run once on zeros (then cached). At batch 2, not 1: a squeeze
    // without axes or a reshape to [1, …] must not take the batch axis for a size-1 axis.
    const out = tf.tidy(() => {
      const data = shapes.map((s) => tf.zeros(s.map((d) => d ?? 2)));
      const weights = new Map(this.op.weights.map((w) => [w.name, tf.zeros([...w.shape])]));
      return this.run(data, (n) => weights.get(n)!).shape;
    });
    if (out[0] !== 2)
      throw new Error(
        `node ${this.op.node.name} (${this.op.node.op}) does not keep the batch axis: [${out.join(', ')}] for a batch of 2`,
      );
    const shape = [shapes[0]![0] ?? null, ...out.slice(1)];
    this.shapes.set(key, shape);
    return shape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const data = Array.isArray(inputs) ? inputs : [inputs];
    return tf.tidy(() => this.run(data, (name) => this.variables.get(name)!.read()));
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      seed: this.seed,
      op: this.op as unknown as tf.serialization.ConfigDictValue,
    };
  }
}
tf.serialization.registerClass(TfOpLayer);
