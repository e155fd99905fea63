import * as tf from '@tensorflow/tfjs';
import { Container, ContainerModule } from 'inversify';
import { describe, expect, it } from 'vitest';
import { DEFAULT_KERNEL_PATCHES, type KernelPatchContribution } from '../backend';
import { coreContainerModule } from './core-module';
import { CORE_TOKENS, type BackendSelector } from './tokens';

function container(...modules: ContainerModule[]): Container {
  const c = new Container({ defaultScope: 'Singleton' });
  c.loadSync(coreContainerModule({ env: {}, generatedBy: 'transplant/test' }), ...modules);
  return c;
}

describe('coreContainerModule', () => {
  it('binds the default kernel patch sets as contributions, in order', () => {
    expect(container().getAll<KernelPatchContribution>(CORE_TOKENS.KernelPatchContribution)).toEqual(
      DEFAULT_KERNEL_PATCHES,
    );
  });

  it('gives the back-end selector every kernel patch contribution, an added one included', async () => {
    const probe: KernelPatchContribution = {
      id: 'test-probe',
      layer: 'wasm',
      patches: [
        {
          kernelName: 'TransplantTestProbe',
          backendName: 'wasm',
          purpose: 'a kernel contributed by a test',
          build: () => ({
            kernelName: 'TransplantTestProbe',
            backendName: 'wasm',
            kernelFunc: ({ inputs }) => inputs['x']!,
          }),
        },
      ],
    };
    const withProbe = new ContainerModule(({ bind }) => {
      bind<KernelPatchContribution>(CORE_TOKENS.KernelPatchContribution).toConstantValue(probe);
    });
    const selector = container(withProbe).get<BackendSelector>(CORE_TOKENS.BackendSelector);
    const selection = await selector.select({ requested: 'wasm', env: {} });
    const names = selection.kernelPatches.map((k) => k.kernelName);
    expect(names).toContain('Conv2DBackpropFilter');
    expect(names.at(-1)).toBe('TransplantTestProbe');
    const x = tf.tensor1d([1, 2, 3]);
    const y = tf.engine().runKernel('TransplantTestProbe', { x }, {}) as tf.Tensor;
    expect(Array.from(y.dataSync())).toEqual([1, 2, 3]);
    tf.dispose([x, y]);

    const plain = await container()
      .get<BackendSelector>(CORE_TOKENS.BackendSelector)
      .select({ requested: 'wasm', env: {} });
    expect(plain.kernelPatches.map((k) => k.kernelName)).toEqual(names.slice(0, -1));
  });
});
