import { randomUUID } from 'node:crypto';
import {
  existsSync,
  linkSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { storageError } from '../errors';

const LOCK_FILE = 'run.lock';
/** The record a run writes before it publishes; removed last, so a half-removed folder still says what was published. */
const PUBLISH_RECORD = 'publish.json';
/** At most this many runs of one command line at once (each in its own slot). */
const SLOTS = 16;

/** Who holds a lock: the process (pid, its start time, the boot) and the run within it. */
interface Holder {
  readonly pid: number;
  readonly started: string;
  readonly boot: string;
  readonly token: string;
}

const readOr = (path: string, fallback: string): string => {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return fallback;
  }
};

/** The kernel's start time of a process (Linux: /proc/PID/stat field 22); '' where it cannot be read. */
function startTime(pid: number): string {
  const stat = readOr(`/proc/${pid}/stat`, '');
  // The command name (field 2) may hold spaces and parentheses: count fields after its last ')'.
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '';
}

const BOOT = readOr('/proc/sys/kernel/random/boot_id', '');

function alive(holder: Holder): boolean {
  // Another boot: every process of it is gone, whatever pid it had.
  if (holder.boot !== BOOT) return false;
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  // A pid reused by another process after the holder died: its start time differs.
  return holder.started === '' || startTime(holder.pid) === holder.started;
}

function readHolder(file: string): Holder | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Holder;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    // Unreadable or not ours: treated as held by nobody (a lock is written whole, by link).
    return { pid: -1, started: '', boot: '', token: '' };
  }
}

/**
 * Takes `directory`'s lock: the holder's record is written to a file of its own and linked to
 * `run.lock`, which fails when a lock exists, so two processes can never both succeed. A lock
 * whose holder is dead (killed, another boot, a reused pid) is moved aside by rename — only one
 * taker can win that — and taking is tried again.
 */
function takeLock(directory: string, me: Holder): boolean {
  const file = join(directory, LOCK_FILE);
  const mine = join(directory, `.lock.${me.token}`);
  try {
    writeFileSync(mine, JSON.stringify(me));
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        linkSync(mine, file);
        return true;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const holder = readHolder(file);
      if (holder && alive(holder)) return false;
      const stale = join(directory, `.stale.${me.token}`);
      try {
        renameSync(file, stale);
        rmSync(stale, { force: true });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    }
    return false;
  } finally {
    rmSync(mine, { force: true });
  }
}

/**
 * The folder where one long run (a transplant, a generic change, an explanation) keeps what
 * it needs to resume after being killed: training checkpoints and the decisions it must not
 * take twice (the version it publishes). The same command with the same inputs finds the same
 * folder and resumes; a finished run removes it. One run at a time holds a folder (a lock with
 * its pid, the pid's start time and the boot, so a reused pid or a reboot does not keep a dead
 * run's lock alive): a second identical run started while the first is alive takes the next
 * slot (`<key>.2`, …), and a later rerun prefers a free slot that holds something to resume.
 */
export class RunFolder {
  private constructor(
    readonly directory: string,
    /** Training runs save a checkpoint every this many steps. */
    readonly every: number,
    /** Where resumption is reported (one line each). */
    readonly note: (line: string) => void,
  ) {}

  /** Opens (and locks) a slot of `<root>/<key>`; with `restart`, its previous contents are removed first. */
  static open(
    root: string,
    key: string,
    options: { every: number; note: (line: string) => void; restart?: boolean },
  ): RunFolder {
    const me: Holder = {
      pid: process.pid,
      started: startTime(process.pid),
      boot: BOOT,
      token: randomUUID(),
    };
    const slots = Array.from({ length: SLOTS }, (_, i) => join(root, i === 0 ? key : `${key}.${i + 1}`));
    try {
      mkdirSync(root, { recursive: true });
      // A free slot with something to resume first, then the first free one.
      const order = [
        ...slots.filter(
          (s) => existsSync(s) && readdirSync(s).some((f) => !f.startsWith('.') && f !== LOCK_FILE),
        ),
        ...slots,
      ];
      let busy = false;
      for (const directory of order) {
        mkdirSync(directory, { recursive: true });
        if (!takeLock(directory, me)) {
          busy = true;
          continue;
        }
        if (busy)
          options.note(`another run of the same command is in progress; this one works in ${directory}`);
        if (options.restart)
          for (const entry of readdirSync(directory))
            if (entry !== LOCK_FILE) rmSync(join(directory, entry), { recursive: true, force: true });
        return new RunFolder(directory, options.every, options.note);
      }
    } catch (error) {
      throw storageError(error, `a run folder under ${root}`, {
        operation: 'checkpoint',
        otherwise: 'set TRANSPLANT_RUNS_DIR to a writable folder',
      });
    }
    throw storageError(
      Object.assign(new Error(`all ${SLOTS} run folders of this command are in use`), { code: 'EBUSY' }),
      `a run folder under ${root}`,
      { operation: 'checkpoint', otherwise: 'wait for the runs of the same command to finish' },
    );
  }

  /** A path inside the folder (a checkpoint directory of one training loop). */
  path(...parts: string[]): string {
    return join(this.directory, ...parts);
  }

  /** A JSON record the run wrote earlier; undefined when there is none. */
  read<T>(name: string): T | undefined {
    try {
      return JSON.parse(readFileSync(this.path(`${name}.json`), 'utf8')) as T;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  /** Writes a JSON record atomically (a killed process leaves the previous one); a full disk is E_DISK_FULL. */
  write(name: string, value: unknown): void {
    const file = this.path(`${name}.json`);
    try {
      writeFileSync(`${file}.tmp`, JSON.stringify(value));
      renameSync(`${file}.tmp`, file);
    } catch (error) {
      rmSync(`${file}.tmp`, { force: true });
      throw storageError(error, file, { operation: 'checkpoint' });
    }
  }

  /** Lets the lock go and keeps the contents (a failed run that can be resumed); an empty folder goes. */
  release(): void {
    rmSync(this.path(LOCK_FILE), { force: true });
    if (readdirSync(this.directory).length === 0) rmSync(this.directory, { recursive: true, force: true });
  }

  /**
   * Removes the folder: the run finished. The publish record goes last, so a kill during the
   * removal leaves what a rerun needs to adopt what was published instead of publishing again.
   */
  remove(): void {
    for (const entry of readdirSync(this.directory))
      if (entry !== PUBLISH_RECORD && entry !== LOCK_FILE)
        rmSync(this.path(entry), { recursive: true, force: true });
    rmSync(this.path(PUBLISH_RECORD), { force: true });
    try {
      unlinkSync(this.path(LOCK_FILE));
    } catch {
      // already gone
    }
    rmSync(this.directory, { recursive: true, force: true });
  }
}
