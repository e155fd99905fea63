import * as tf from '@tensorflow/tfjs';
import type { Network } from '@transplant/composer';
import { Rng } from '@transplant/data';

/** How a control performer loses what its upper layers learned. */
export type Randomisation = 'reinit' | 'shuffle';

export const RANDOMISATIONS: readonly Randomisation[] = ['reinit', 'shuffle'];

/**
 * The control of docs/methods.md §5.5: the performer's upper layers — the layer that outputs
 * the explained features x and every layer of the task module above it — lose their training,
 * in place. `reinit` draws each kernel again He-normal (biases 0), `shuffle` permutes each weight
 * tensor's values (the same values, so the same scale, in random places). The lower layers keep
 * their training, so x still comes from a trained front end. Returns the layers changed.
 */
export function randomiseUpperLayers(
  network: Network,
  link: { readonly category: string; readonly task: string },
  { mode, seed }: { readonly mode: Randomisation; readonly seed: number },
): string[] {
  const weighted = (name: string) =>
    network
      .module(name)
      .model.layers.filter((l) => l.getClassName() !== 'InputLayer' && l.getWeights().length > 0);
  const layers = [weighted(link.category).at(-1)!, ...weighted(link.task)];
  const rng = new Rng(`randomise-${mode}-${seed}`);
  layers.forEach((layer, k) => {
    const fresh = layer.getWeights().map((w, j) => {
      if (mode === 'reinit') {
        if (w.shape.length === 1) return tf.zeros(w.shape);
        return tf.initializers.heNormal({ seed: seed * 1000 + k * 10 + j }).apply(w.shape);
      }
      const values = w.dataSync().slice();
      for (let i = values.length - 1; i > 0; i--) {
        const r = Math.floor(rng.next() * (i + 1));
        [values[i], values[r]] = [values[r]!, values[i]!];
      }
      return tf.tensor(values, w.shape);
    });
    layer.setWeights(fresh);
    tf.dispose(fresh);
  });
  return layers.map((l) => l.name);
}
