import { afterEach, describe, expect, it } from 'vitest';
import { selectBackend } from './select-backend';
import { removeWasmGlueProcessHandlers } from './wasm-glue-handlers';

const EVENTS = ['uncaughtException', 'unhandledRejection'] as const;
type Listener = (...args: unknown[]) => void;
const emitter: NodeJS.EventEmitter = process;
const listeners = () => Object.fromEntries(EVENTS.map((e) => [e, emitter.listeners(e)]));
const noNative = () => ({ ok: false as const, reason: 'not in this test' });

const added: Array<readonly [(typeof EVENTS)[number], Listener]> = [];
afterEach(() => {
  for (const [event, listener] of added.splice(0)) emitter.removeListener(event, listener);
});

describe('the wasm glue’s process-wide listeners', () => {
  it('are gone once the wasm back end is selected: the process keeps exactly the listeners it had', async () => {
    const before = listeners();
    const selection = await selectBackend({ requested: 'wasm', env: {}, loadNative: noNative });
    expect(selection.id).toBe('wasm');
    expect(listeners()).toEqual(before);
    // Selecting again (the module is started once) adds nothing either.
    await selectBackend({ requested: 'wasm', env: {}, loadNative: noNative });
    expect(listeners()).toEqual(before);
  });

  it('are recognised by their source; every other listener stays', () => {
    class ExitStatus {}
    void ExitStatus;
    // The glue's two listeners, as Emscripten writes them (anonymous, rethrowing).
    const glueException = new Function(
      'ExitStatus',
      'return function (ex) { if (!(ex instanceof ExitStatus)) {\n    throw ex;\n} }',
    )(ExitStatus) as Listener;
    const glueRejection = new Function('return function (reason) { throw reason; }')() as Listener;
    const ours: Listener = (error) => void error;
    const oursRethrowing: Listener = function (reason) {
      console.error('rejected');
      throw reason;
    };
    added.push(
      ['uncaughtException', glueException],
      ['unhandledRejection', glueRejection],
      ['uncaughtException', ours],
      ['unhandledRejection', oursRethrowing],
    );
    for (const [event, listener] of added) emitter.on(event, listener);
    expect(removeWasmGlueProcessHandlers()).toBe(2);
    expect(emitter.listeners('uncaughtException')).toContain(ours);
    expect(emitter.listeners('uncaughtException')).not.toContain(glueException);
    expect(emitter.listeners('unhandledRejection')).toContain(oursRethrowing);
    expect(emitter.listeners('unhandledRejection')).not.toContain(glueRejection);
    expect(removeWasmGlueProcessHandlers()).toBe(0);
  });
});
