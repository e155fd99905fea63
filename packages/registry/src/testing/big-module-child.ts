/**
 * One registry operation in a fresh process, measured: for the big-module tests and the
 * registry benchmark (peak memory can only be told apart per process).
 *   big-module-child.ts publish LOCATION MODULE_DIR       publishes a module folder
 *   big-module-child.ts fetch LOCATION REF OUT_DIR        fetches into a module folder (streamed)
 *   big-module-child.ts fetch-memory LOCATION REF         fetches the weights into memory
 *   big-module-child.ts verify LOCATION                   verifies every blob
 *   big-module-child.ts pull FROM TO REF                  copies a version between registries
 * Prints one JSON line: { ms, rssStartMiB, peakRssMiB, result }. Errors print { error: CODE }.
 */
import { isTransplantError } from '@transplant/core';
import { copyModule } from '../copy-module';
import { readModuleFolder, writeModuleFolder } from '../module-folder';
import { DEFAULT_STORE_FACTORIES, openStore } from '../open-store';
import { Registry } from '../registry';

const [command, a, b, c] = process.argv.slice(2);
// A publisher here may make the registry it writes to (like `transplant registry publish --create`).
const open = async (location: string) =>
  new Registry(await openStore(location, process.env, DEFAULT_STORE_FACTORIES, { create: true }));
const rssStartMiB = process.memoryUsage().rss / 2 ** 20;
const started = performance.now();

async function operate(): Promise<unknown> {
  switch (command) {
    case 'publish':
      return (await open(a!)).publish(await readModuleFolder(b!));
    case 'fetch': {
      const opened = await (await open(a!)).openWeights(b!);
      await writeModuleFolder(c!, opened);
      return { size: opened.weights.size };
    }
    case 'fetch-memory': {
      const fetched = await (await open(a!)).fetch(b!);
      return { size: fetched.weights.byteLength };
    }
    case 'verify':
      return (await open(a!)).verify();
    case 'pull':
      return copyModule(await open(a!), await open(b!), c!);
    default:
      throw new Error(`unknown command ${String(command)}`);
  }
}

try {
  const result = await operate();
  const ms = performance.now() - started;
  // maxRSS is in KiB on Linux: the process's peak resident memory, start-up included.
  const peakRssMiB = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(`${JSON.stringify({ ms, rssStartMiB, peakRssMiB, result })}\n`);
} catch (error) {
  if (!isTransplantError(error)) throw error;
  process.stdout.write(`${JSON.stringify({ error: error.code, message: error.message })}\n`);
  process.exitCode = 1;
}
