import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * nx's test targets are cacheable: run one small project's tests twice against an empty,
 * scratch cache, and the second run must be read from the cache. (The whole suite is not run
 * here; `npm test` runs vitest once over everything.)
 */
describe('nx caching of test targets', () => {
  it('serves a repeated `nx run plugin-adapter-conv:test` from the cache', async () => {
    const cache = await mkdtemp(join(tmpdir(), 'transplant-nx-cache-'));
    // The inner vitest must not think it is a worker of this one.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST')));
    const run = async () =>
      (
        await promisify(execFile)(
          process.execPath,
          [join(ROOT, 'node_modules/.bin/nx'), 'run', 'plugin-adapter-conv:test'],
          {
            cwd: ROOT,
            env: {
              ...env,
              NX_CACHE_DIRECTORY: join(cache, 'cache'),
              // nx keeps its record of task results beside the project graph: a scratch one too.
              NX_WORKSPACE_DATA_DIRECTORY: join(cache, 'workspace-data'),
              FORCE_COLOR: '0',
              NX_DAEMON: 'false',
              NX_TUI: 'false',
              NX_NO_CLOUD: 'true',
            },
          },
        )
      ).stdout;
    try {
      const first = await run();
      expect(first).toMatch(/Cache:\s+0\/1 hit/);
      expect(first).toMatch(/Tests\s+\d+ passed/);
      const second = await run();
      expect(second).toMatch(/Cache:\s+1\/1 hit/);
      expect(second).toMatch(/read the output from the cache/);
    } finally {
      await rm(cache, { recursive: true, force: true });
    }
  }, 180_000);
});
