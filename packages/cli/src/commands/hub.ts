import { isIP } from 'node:net';
import type { Command } from 'commander';
import { resolveRegistryLocation } from '@transplant/platform/options';
import { openCommandRegistry, selectCommandBackend, type CommandContext } from './command-context';
import { usage } from './parse-options';

/** `--port`: an integer 0–65535 (0: any free port), E_USAGE otherwise. */
export function parsePort(value: string): number {
  if (!/^[0-9]{1,5}$/.test(value) || Number(value) > 65535)
    throw usage(
      `--port must be an integer from 0 to 65535 (0: any free port), not "${value.slice(0, 40)}"`,
      'hub',
    );
  return Number(value);
}

const HOSTNAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

/** `--host`: an IPv4 or IPv6 address or a host name (not a URL, not a dotted number that is no address). */
export function parseHost(value: string): string {
  const ok = isIP(value) !== 0 || (HOSTNAME.test(value) && !/^[0-9.]+$/.test(value));
  if (!ok)
    throw usage(
      `--host must be an address to bind, e.g. 127.0.0.1, ::1, 0.0.0.0 or localhost, not "${value.slice(0, 60)}"`,
      'hub',
    );
  return value;
}

/**
 * `transplant hub`: a read-only web app over the registry (`--registry`), on loopback unless
 * `--host` says otherwise; it serves until SIGINT, SIGTERM or SIGHUP, then closes its connections and
 * removes its temporary files. `stop` replaces the signals (tests).
 */
export function hubCommand(program: Command, ctx: CommandContext, stop?: () => Promise<void>): void {
  program
    .command('hub')
    .description(
      'serve a read-only web app over the registry: modules and networks, module cards, the lineage graph, generic network matrices, attachments, and networks run in the browser',
    )
    .option('--port <port>', 'TCP port, 0–65535 (0: any free port)', '8080')
    .option(
      '--host <host>',
      'address to bind; another than loopback serves the hub to that network (read-only, no credentials shown)',
      '127.0.0.1',
    )
    .action(async (options: { port: string; host: string }) => {
      const port = parsePort(options.port);
      const host = parseHost(options.host);
      const registry = await openCommandRegistry(ctx);
      const backend = await selectCommandBackend(ctx);
      const [{ Composer }, { startHub, displayLocation }] = await Promise.all([
        import('@transplant/composer'),
        import('@transplant/hub'),
      ]);
      const location = resolveRegistryLocation(ctx.globals().registry, ctx.env).location;
      const hub = await startHub({
        registry,
        location,
        composer: new Composer(registry, ctx.services().plugins),
        generatedBy: ctx.services().generatedBy,
        host,
        port,
      });
      ctx.out(
        { url: hub.url, registry: displayLocation(location), backend: backend.id },
        `hub at ${hub.url} over ${displayLocation(location)} (tfjs back end ${backend.id}); Ctrl-C stops it`,
      );
      await (stop ?? untilSignal)();
      await hub.close();
      ctx.err('hub stopped\n');
    });
}

const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** Resolves on the first SIGINT, SIGTERM or SIGHUP (a closed terminal), and stops listening for them. */
function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      for (const signal of STOP_SIGNALS) process.off(signal, done);
      resolve();
    };
    for (const signal of STOP_SIGNALS) process.on(signal, done);
  });
}
