import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { TransplantError, isTransplantError, selectBackend, type ModulePlugin } from '@transplant/core';
import { createModule, disposeModule } from './module-instance';
import { PluginRegistry } from './plugin-registry';
import { TinyOptions, tinyCategory } from './testing/tiny-plugins';

/** tinyCategory at version 2.3.4 with some hooks replaced. */
const broken = (hooks: Partial<ModulePlugin<TinyOptions>>): PluginRegistry =>
  new PluginRegistry([{ ...tinyCategory, version: '2.3.4', ...hooks }]);

function failure(plugins: PluginRegistry, options?: unknown): TransplantError {
  try {
    disposeModule(createModule(plugins, { name: 'cat-features', family: 'tiny-category', options }));
  } catch (error) {
    if (isTransplantError(error)) return error;
    throw new Error(`expected a TransplantError, got ${String(error)}`);
  }
  throw new Error('expected createModule to fail');
}

describe('plugin failures', () => {
  beforeAll(async () => {
    await selectBackend({ requested: 'cpu', env: {} });
  });

  it('wraps an uncoded error of build in E_PLUGIN_FAILED naming family, version, hook and module, keeping the cause', () => {
    const boom = new RangeError('kernel size 0');
    const error = failure(
      broken({
        build: () => {
          throw boom;
        },
      }),
    );
    expect(error.code).toBe('E_PLUGIN_FAILED');
    expect(error.message).toContain('tiny-category@2.3.4');
    expect(error.message).toContain('(build cat-features)');
    expect(error.message).toContain('RangeError: kernel size 0');
    expect(error.cause).toBe(boom);
    expect(error).toMatchObject({
      module: 'cat-features',
      operation: 'build',
      details: { family: 'tiny-category', version: '2.3.4', hook: 'build', module: 'cat-features' },
    });
  });

  it('wraps failures of the other hooks: option rules, ports and applying the layers', () => {
    const rules = failure(
      broken({
        optionViolations: () => {
          throw new TypeError('no rules today');
        },
      }),
    );
    expect(rules).toMatchObject({ code: 'E_PLUGIN_FAILED', operation: 'options' });
    const ports = failure(
      broken({
        ports: () => {
          throw new Error('no ports');
        },
      }),
    );
    expect(ports).toMatchObject({ code: 'E_PLUGIN_FAILED', operation: 'ports' });
    const start = tf.memory().numTensors;
    const apply = failure(
      broken({
        build: (options, context) => {
          const built = tinyCategory.build(options, context);
          return {
            layers: built.layers,
            apply: () => {
              throw new Error('cannot apply');
            },
          };
        },
      }),
    );
    expect(apply).toMatchObject({ code: 'E_PLUGIN_FAILED', operation: 'apply' });
    expect(apply.message).toContain('tiny-category@2.3.4');
    expect(tf.memory().numTensors).toBe(start);
  });

  it('keeps the code of a coded error and adds the plugin when the error does not name it', () => {
    const inner = new TransplantError('E_OPTIONS_INVALID', 'layer conv9: Foo is not supported', {
      module: 'conv9',
      operation: 'build',
      details: [{ path: 'layers[0]', message: 'unsupported' }],
    });
    const error = failure(
      broken({
        build: () => {
          throw inner;
        },
      }),
    );
    expect(error.code).toBe('E_OPTIONS_INVALID');
    expect(error.message).toContain('tiny-category@2.3.4: layer conv9: Foo is not supported');
    expect(error).toMatchObject({ module: 'cat-features', operation: 'build', details: inner.details });
    expect(error.cause).toBe(inner);
  });

  it('passes on unchanged a coded error that already names the plugin (invalid options)', () => {
    const error = failure(broken({}), { channels: 0 });
    expect(error.code).toBe('E_OPTIONS_INVALID');
    expect(error.message).toContain('tiny-category@2.3.4: channels');
    expect(error.cause).toBeUndefined();
  });
});
