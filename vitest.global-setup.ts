import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Long commands keep resumable state under TRANSPLANT_RUNS_DIR (default: the user's XDG state
 * folder): the tests get a temporary one of their own, removed at the end.
 */
export default function setup(): () => void {
  const runs = mkdtempSync(join(tmpdir(), 'transplant-test-runs-'));
  process.env['TRANSPLANT_RUNS_DIR'] = runs;
  return () => rmSync(runs, { recursive: true, force: true });
}
