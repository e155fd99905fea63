/**
 * A child process for the registry's concurrency and crash tests:
 *   publisher.ts LOCATION NAME VERSION…   publishes each version, prints "ok V" or "err CODE V"
 *   publisher.ts LOCATION NAME --forever  publishes 1.0.N for N = 0, 1, … until killed
 * LOCATION is a folder or oci://…; PUBLISHER_VALUES sets the weights' size (floats).
 */
import { isTransplantError } from '@transplant/core';
import { DEFAULT_STORE_FACTORIES, openStore } from '../open-store';
import { Registry } from '../registry';
import { moduleFixture } from './module-fixture';

const [root, name, ...rest] = process.argv.slice(2);
// A publisher may make the registry it writes to (like `transplant registry publish --create`).
const registry = new Registry(await openStore(root!, process.env, DEFAULT_STORE_FACTORIES, { create: true }));
const values = Number(process.env['PUBLISHER_VALUES'] ?? 64);

async function publish(version: string): Promise<void> {
  try {
    process.stdout.write(`start ${version}\n`);
    await registry.publish(
      moduleFixture({ name: name!, version, seed: Number(version.replaceAll('.', '')), values }),
    );
    process.stdout.write(`ok ${version}\n`);
  } catch (error) {
    if (!isTransplantError(error)) throw error;
    process.stdout.write(`err ${error.code} ${version}\n`);
  }
}

if (rest[0] === '--forever') {
  for (let n = 0; ; n++) {
    await publish(`1.0.${n}`);
  }
} else {
  for (const version of rest) await publish(version);
}
