/**
 * The Emscripten glue of @tensorflow/tfjs-backend-wasm, when its WebAssembly module starts in
 * Node, installs two process-wide listeners that rethrow:
 *
 *   process.on('uncaughtException', function (ex) { if (!(ex instanceof ExitStatus)) { throw ex; } });
 *   process.on('unhandledRejection', function (reason) { throw reason; });
 *
 * A failure thrown from a listener is reported at the listener's own source line: Node prints
 * the whole minified glue (about 30 KB) and then the value, and any other listener (the CLI's,
 * which turns a failure into one coded line) is bypassed. tfjs means to remove them when the back
 * end is disposed, but its filter keeps none (`!list.indexOf(l) > -1` is always false), and the
 * back end is never disposed in a CLI run. Without them Node behaves as it does by default, and
 * the process's own listeners decide.
 */
const GLUE_EVENTS = ['uncaughtException', 'unhandledRejection'] as const;

type GlueEvent = (typeof GLUE_EVENTS)[number];

/** The glue's two listeners, recognised by their source (they are anonymous). */
function isGlueListener(event: GlueEvent, listener: unknown): boolean {
  const source = Function.prototype.toString.call(listener).replace(/\s+/g, ' ');
  return event === 'uncaughtException'
    ? /^function ?\((\w+)\) ?\{ ?if ?\(!\(\1 instanceof ExitStatus\)\) ?\{ ?throw \1;? ?\} ?\}$/.test(source)
    : /^function ?\((\w+)\) ?\{ ?throw \1;? ?\}$/.test(source);
}

/**
 * Removes the wasm glue's rethrowing `uncaughtException` / `unhandledRejection` listeners from
 * the process (call it right after the wasm back end initialises); leaves every other listener.
 * Returns how many it removed.
 */
export function removeWasmGlueProcessHandlers(): number {
  // Process's typed overloads take one event name at a time; the emitter's do not.
  const emitter: NodeJS.EventEmitter = process;
  let removed = 0;
  for (const event of GLUE_EVENTS) {
    for (const listener of emitter.listeners(event) as Array<(...args: unknown[]) => void>) {
      if (!isGlueListener(event, listener)) continue;
      emitter.removeListener(event, listener);
      removed++;
    }
  }
  return removed;
}
