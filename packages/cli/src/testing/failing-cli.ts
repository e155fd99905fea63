/**
 * The CLI as a process — `runCliProcess`, what main.ts runs — with the registry opener rebound
 * to fail as the first argument says, for the failure-path tests (the back end is selected, so
 * the wasm glue has started, before the registry is opened):
 *   failing-cli.ts undefined ARGV…   the opener throws `undefined`
 *   failing-cli.ts error ARGV…       the opener throws a TypeError
 *   failing-cli.ts timer ARGV…       a timer throws 42 while the opener waits (an uncaught failure)
 *   failing-cli.ts rejection ARGV…   a promise nobody awaits rejects with 'stray' while the opener waits
 */
import { ContainerModule } from 'inversify';
import { REGISTRY_TOKENS, type RegistryOpener } from '@transplant/registry';
import { runCliProcess } from '../cli-process';

const [how, ...argv] = process.argv.slice(2);
const waitForever = () => new Promise<never>(() => setInterval(() => undefined, 1000));

const failing: RegistryOpener = async () => {
  switch (how) {
    case 'undefined':
      throw undefined;
    case 'error':
      throw new TypeError('registry.open is not a function');
    case 'timer':
      setTimeout(() => {
        throw 42;
      }, 10);
      return waitForever();
    case 'rejection':
      void Promise.reject('stray');
      return waitForever();
    default:
      throw new Error(`failing-cli: unknown failure "${String(how)}"`);
  }
};

await runCliProcess(argv, {
  modules: [
    new ContainerModule(({ rebindSync }) => {
      rebindSync<RegistryOpener>(REGISTRY_TOKENS.RegistryOpener).toConstantValue(failing);
    }),
  ],
});
