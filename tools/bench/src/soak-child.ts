import { writeFileSync } from 'node:fs';
import { SOAK_PHASES, runSoakPhase, type SoakPhase, type SoakPhaseSettings } from './soak-phases';

/**
 * One soak phase in a fresh process (`node --import tsx soak-child.ts PHASE SETTINGS-JSON OUT`):
 * runs it and writes its samples and outcome to OUT, for soak.ts to judge.
 */
const [phase, settings, out] = process.argv.slice(2);
if (!phase || !SOAK_PHASES.includes(phase as SoakPhase) || !settings || !out) {
  process.stderr.write('usage: soak-child.ts transplant|explain|graph SETTINGS-JSON OUT-FILE\n');
  process.exit(2);
}
const run = await runSoakPhase(phase as SoakPhase, JSON.parse(settings) as SoakPhaseSettings);
writeFileSync(out, JSON.stringify(run));
// The back end may hold the event loop open; the result is written.
process.exit(0);
