import {
  closeSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';

const LOCK_FILE = 'run.lock';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes `directory`'s lock for this process: false when a live process holds it (a dead holder's lock is taken over). */
function takeLock(directory: string): boolean {
  const file = join(directory, LOCK_FILE);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number.parseInt(readFileSync(file, 'utf8') || 'NaN', 10);
      if (holder === process.pid) return true;
      if (Number.isInteger(holder) && alive(holder)) return false;
      // A killed run's lock (or one caught half-written): remove it and try again.
      rmSync(file, { force: true });
    }
  }
  return false;
}

/**
 * The folder where one long run (a transplant, a generic change, an explanation) keeps what
 * it needs to resume after being killed: training checkpoints and the decisions it must not
 * take twice (the version it publishes). The same command with the same inputs finds the same
 * folder and resumes; a finished run removes it. One process at a time holds a folder: a
 * second identical run started while the first is alive works in a folder of its own.
 */
export class RunFolder {
  private constructor(
    readonly directory: string,
    /** Training runs save a checkpoint every this many steps. */
    readonly every: number,
    /** Where resumption is reported (one line each). */
    readonly note: (line: string) => void,
  ) {}

  /**
   * Opens (and locks) `<root>/<key>`; with `restart`, its previous contents are removed first.
   * When a live process holds it, a private `<root>/<key>.<pid>` is used instead.
   */
  static open(
    root: string,
    key: string,
    options: { every: number; note: (line: string) => void; restart?: boolean },
  ): RunFolder {
    let directory = join(root, key);
    mkdirSync(directory, { recursive: true });
    if (!takeLock(directory)) {
      options.note(`another run of the same command is in progress (${directory}); this one starts afresh`);
      directory = join(root, `${key}.${process.pid}`);
      rmSync(directory, { recursive: true, force: true });
      mkdirSync(directory, { recursive: true });
      takeLock(directory);
    } else if (options.restart) {
      for (const entry of readdirSync(directory))
        if (entry !== LOCK_FILE) rmSync(join(directory, entry), { recursive: true, force: true });
    }
    return new RunFolder(directory, options.every, options.note);
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

  /** Writes a JSON record atomically (a killed process leaves the previous one). */
  write(name: string, value: unknown): void {
    const file = this.path(`${name}.json`);
    writeFileSync(`${file}.tmp`, JSON.stringify(value));
    renameSync(`${file}.tmp`, file);
  }

  /** Lets the lock go and keeps the contents (a failed run that can be resumed); an empty folder goes. */
  release(): void {
    rmSync(this.path(LOCK_FILE), { force: true });
    if (readdirSync(this.directory).length === 0) rmSync(this.directory, { recursive: true, force: true });
  }

  /** Removes the folder: the run finished and there is nothing to resume. */
  remove(): void {
    rmSync(this.directory, { recursive: true, force: true });
  }
}
