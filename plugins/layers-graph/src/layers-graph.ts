import type * as tf from '@tensorflow/tfjs';
import type { BuiltModule, ModulePlugin, Port, PortRole, TaskId, ValueRange } from '@transplant/core';
import { deserializeLayer, inferShapes, layerSeed } from './deserialize-layer';
import {
  graphViolations,
  inboundNames,
  LAYER_CLASSES,
  topologicalOrder,
  type LayerClass,
} from './keras-graph';
import { optionsWithDefaults, type LayersGraphOptions } from './layers-graph-options';

export type Shape = readonly (number | null)[];

/** What distinguishes the three families: kind, task, defaults and the ports a graph gives. */
export interface GraphFamily {
  readonly family: string;
  readonly kind: 'category' | 'task';
  readonly task?: TaskId;
  readonly description: string;
  readonly defaults: LayersGraphOptions;
  /** Why the graph's output shape cannot be this family's output port; undefined when it can. */
  outputProblem(shape: Shape): string | undefined;
  ports(options: LayersGraphOptions, shapes: { input: Shape; output: Shape }): { input: Port; output: Port };
}

/** A float32 port of the given shape, its channels the last axis. */
export function graphPort(role: PortRole, shape: Shape, facts: { stride: number; values: ValueRange }): Port {
  return {
    role,
    dtype: 'float32',
    shape: [...shape],
    channels: shape[shape.length - 1] as number,
    stride: facts.stride,
    values: facts.values,
  };
}

function outputShape(options: LayersGraphOptions): Shape {
  return inferShapes(options, options.inputShape).get(options.output)!;
}

function shapeViolations(
  options: LayersGraphOptions,
  family: GraphFamily,
): { path: string; message: string }[] {
  let shape: Shape;
  try {
    shape = outputShape(options);
  } catch (error) {
    return [
      {
        path: 'layers',
        message: `the layers do not fit together from input [${options.inputShape.join(', ')}]: ${(error as Error).message}`,
      },
    ];
  }
  if (shape.length < 2 || shape.length > 4 || shape.slice(1).some((n) => n === null || n < 1)) {
    return [
      {
        path: 'output',
        message: `gives [${shape.join(', ')}]; a port is [null, …] of rank 2 to 4 with known sizes`,
      },
    ];
  }
  const problem = family.outputProblem(shape);
  return problem ? [{ path: 'output', message: problem }] : [];
}

/**
 * A module plugin over a Keras layer graph. `build` deserialises each layer from its config
 * (named with the build prefix, so weights are stored as `<layer>/<weight>`) and `apply` walks
 * the graph in topological order, giving merge layers the list of their inputs — no nested
 * LayersModel, so the module's layers are ordinary layers of whatever network uses it.
 */
export function layersGraphPlugin(family: GraphFamily): ModulePlugin<LayersGraphOptions> {
  return {
    family: family.family,
    version: '1.0.0',
    kind: family.kind,
    ...(family.task !== undefined ? { task: family.task } : {}),
    description: family.description,
    optionsSchema: optionsWithDefaults(family.defaults),
    optionViolations(options) {
      const graph = graphViolations(options);
      return graph.length > 0 ? graph : shapeViolations(options, family);
    },
    ports(options) {
      return family.ports(options, { input: [null, ...options.inputShape], output: outputShape(options) });
    },
    build(options, { seed, prefix }): BuiltModule {
      const order = topologicalOrder(options);
      const layers = order.map((layer, i) => deserializeLayer(layer, { prefix, seed: layerSeed(seed, i) }));
      return {
        layers,
        apply(input) {
          const tensors = new Map<string, tf.SymbolicTensor>([[options.input, input]]);
          order.forEach((layer, i) => {
            const inputs = inboundNames(layer).map((name) => tensors.get(name)!);
            const merge = LAYER_CLASSES[layer.class_name as LayerClass] === 'merge';
            tensors.set(layer.name, layers[i]!.apply(merge ? inputs : inputs[0]!) as tf.SymbolicTensor);
          });
          return tensors.get(options.output)!;
        },
      };
    },
  };
}
