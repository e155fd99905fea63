import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

/** Debian's docker-registry (CNCF distribution 2.8), installed by .ci/run. */
export const DISTRIBUTION_BINARY = '/usr/bin/docker-registry';

export interface LocalRegistry {
  /** `oci://127.0.0.1:PORT/<namespace>` */
  readonly location: string;
  readonly host: string;
  /** Where the registry keeps its files (for corruption tests). */
  readonly dataDir: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** Starts a private registry on 127.0.0.1 with htpasswd basic auth; stop() removes everything. */
export async function startLocalRegistry(
  users: Record<string, string>,
  namespace = 'transplant',
): Promise<LocalRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'transplant-oci-'));
  const htpasswd: string[] = [];
  for (const [user, password] of Object.entries(users)) {
    const { stdout } = await promisify(execFile)('htpasswd', ['-Bbn', user, password]);
    htpasswd.push(stdout.trim());
  }
  await writeFile(join(dir, 'htpasswd'), `${htpasswd.join('\n')}\n`);
  const port = await freePort();
  const config = [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${join(dir, 'data')}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    'auth:',
    '  htpasswd:',
    '    realm: transplant-test',
    `    path: ${join(dir, 'htpasswd')}`,
  ].join('\n');
  await writeFile(join(dir, 'config.yml'), `${config}\n`);
  const child: ChildProcess = spawn(DISTRIBUTION_BINARY, ['serve', join(dir, 'config.yml')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const started = Date.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${DISTRIBUTION_BINARY} exited: ${stderr.slice(-500)}`);
    const status = await fetch(`http://127.0.0.1:${port}/v2/`).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 401 || status === 200) break;
    if (Date.now() - started > 15_000) {
      child.kill('SIGKILL');
      throw new Error(
        `${DISTRIBUTION_BINARY} did not answer on port ${port} within 15 s: ${stderr.slice(-500)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    location: `oci://127.0.0.1:${port}/${namespace}`,
    host: `127.0.0.1:${port}`,
    dataDir: join(dir, 'data'),
    stop: async () => {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
