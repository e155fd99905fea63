/**
 * A child process for the registry's concurrency and crash tests:
 *   publisher.ts ROOT NAME VERSION…   publishes each version, prints "ok V" or "err CODE V"
 *   publisher.ts ROOT NAME --forever  publishes 1.0.N for N = 0, 1, … until killed
 */
import { isTransplantError } from '@transplant/core';
import { FolderStore } from '../folder/folder-store';
import { Registry } from '../registry';
import { moduleFixture } from './module-fixture';

const [root, name, ...rest] = process.argv.slice(2);
const registry = new Registry(new FolderStore(root!));

async function publish(version: string): Promise<void> {
  try {
    await registry.publish(moduleFixture({ name: name!, version, seed: Number(version.replaceAll('.', '')) }));
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
