import type * as tf from '@tensorflow/tfjs';
import type { ModuleKind, TaskId } from '../contracts/module-kinds';
import type { Port } from '../contracts/ports';

/** What a plugin needs to build one module's layers. */
export interface BuildContext {
  /** Seeds every initializer: the same options and seed give bit-identical initial weights. */
  readonly seed: number;
  /**
   * Prepended to every layer name, so that modules placed in one model never collide
   * (e.g. `cat-seg-features__`). Weights are stored under names without it.
   */
  readonly prefix: string;
}

/** One module's layers, built and ready to be applied to a symbolic tensor. */
export interface BuiltModule {
  /** Every layer that owns weights or is applied, in application order. */
  readonly layers: readonly tf.layers.Layer[];
  /** Applies the module to its input port's tensor; may be called more than once (shared layers). */
  apply(input: tf.SymbolicTensor): tf.SymbolicTensor;
}

/** The kinds a plugin builds: a network is a composition, never built by one plugin. */
export type BuildableKind = Exclude<ModuleKind, 'network'>;

/**
 * A module plugin: one architecture family (docs/design.md §3). A plain typed object: its family
 * name and version (recorded in every manifest it builds), its options schema (a
 * class-validator DTO whose property initialisers are the defaults), the ports a set of
 * options gives, and a builder of TensorFlow.js layers.
 */
export interface ModulePlugin<Options extends object = object> {
  readonly family: string;
  readonly version: string;
  readonly kind: BuildableKind;
  /** Task plugins: the task they solve. */
  readonly task?: TaskId;
  readonly description: string;
  readonly optionsSchema: new () => Options;
  /** Rules between options that decorators cannot say; empty when the options are consistent. */
  optionViolations?(options: Options): { path: string; message: string }[];
  ports(options: Options): { readonly input: Port; readonly output: Port };
  build(options: Options, context: BuildContext): BuiltModule;
}
