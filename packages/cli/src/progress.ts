/**
 * Progress of a long loop (training steps, EM iterations) on stderr. On a terminal: one line
 * redrawn in place — `step [######--------------] 120/400  loss 0.1234  ETA 12 s` — at most every
 * `redrawMs`, ended by a newline when done. Anywhere else (a pipe, a file, CI, TERM=dumb): plain
 * lines every `every` steps or `intervalMs`, and always the last step, with no control characters.
 * Color only on a terminal, never with NO_COLOR set or TERM=dumb (https://no-color.org).
 * Imports nothing: the CLI's start-up must not pay for it.
 */

export interface TerminalIo {
  readonly stderr: (text: string) => void;
  /** Is stderr a terminal (`process.stderr.isTTY`)? Absent: no. */
  readonly isTTY?: boolean;
  readonly env: Readonly<Record<string, string | undefined>>;
}

export interface ProgressIo extends TerminalIo {
  /** Milliseconds, for the throttle, the interval and the ETA (default `performance.now`). */
  readonly now?: () => number;
  /** Terminal width (`process.stderr.columns`): the redrawn line is cut to fit, or it would wrap. */
  readonly columns?: number;
}

export interface ProgressOptions {
  /** What is counted, before the count: `step`, `  cat-seg → bird-cls: step`, `conv5: EM`. */
  readonly label: string;
  /** The last step. */
  readonly total: number;
  /** Off a terminal: a line every this many steps (default: a tenth of the total, at least 1). */
  readonly every?: number;
  /** Off a terminal: also a line when this long has passed since the last (default 10 000 ms). */
  readonly intervalMs?: number;
  /** On a terminal: at least this long between redraws (default 100 ms). */
  readonly redrawMs?: number;
  /** Characters in the bar (default 20). */
  readonly width?: number;
}

export type ProgressFields = Readonly<Record<string, string | number>>;

export interface Progress {
  /** Step `step` (1…total) is done; `fields` are shown after the count (`loss 0.1234`). */
  update(step: number, fields?: ProgressFields): void;
  /** A line of its own (a log line) that does not tear the bar: cleared, printed, redrawn. */
  note(line: string): void;
  /** Ends the progress: the last step shown with the time it took (and `summary`), then a newline. */
  done(summary?: string): void;
  /**
   * The loop stopped before its end (a failure): on a terminal the bar's line is ended as it
   * stands, so that what follows (the error) starts a line of its own; elsewhere nothing.
   */
  abort(): void;
}

const ESC = '\u001b';
const CLEAR_TO_END = `${ESC}[K`;

const STYLES = {
  bold: [1, 22],
  dim: [2, 22],
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  cyan: [36, 39],
} as const;

export type Style = keyof typeof STYLES;

/** Does this output take a cursor that moves (`\r`, clear to end of line)? A terminal but not TERM=dumb. */
export function isInteractive(io: TerminalIo): boolean {
  return io.isTTY === true && io.env['TERM'] !== 'dumb';
}

/** Color on this output? Only a terminal, and not with NO_COLOR set (to anything but empty) or TERM=dumb. */
export function useColor(io: TerminalIo): boolean {
  const noColor = io.env['NO_COLOR'];
  return isInteractive(io) && (noColor === undefined || noColor === '');
}

/** `text` in `style` when `color` (from {@link useColor}); as it is otherwise. */
export function paint(color: boolean, style: Style, text: string): string {
  if (!color || text === '') return text;
  const [on, off] = STYLES[style];
  return `${ESC}[${on}m${text}${ESC}[${off}m`;
}

/** `12 s`, `3 min 05 s`, `2 h 07 min`. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

function formatFields(fields: ProgressFields | undefined): string {
  if (!fields) return '';
  return Object.entries(fields)
    .map(([name, value]) => {
      const text = typeof value === 'number' && !Number.isInteger(value) ? value.toFixed(4) : String(value);
      return `  ${name} ${text}`;
    })
    .join('');
}

/** A progress reporter on `io.stderr`, a bar on a terminal and periodic lines elsewhere. */
export function createProgress(io: ProgressIo, options: ProgressOptions): Progress {
  const now = io.now ?? (() => performance.now());
  const total = Math.max(0, options.total);
  const every = Math.max(1, Math.floor(options.every ?? Math.ceil(total / 10)));
  const intervalMs = options.intervalMs ?? 10_000;
  const redrawMs = options.redrawMs ?? 100;
  const width = Math.max(1, options.width ?? 20);
  const interactive = isInteractive(io);
  const color = useColor(io);

  const started = now();
  // The rate is measured from the first update (a resumed run starts past step 0, and the work
  // before the loop is no step); the time taken, from the progress's creation.
  let first: { step: number; at: number } | undefined;
  let last: { step: number; fields?: ProgressFields } | undefined;
  /** When the last line was printed or the bar drawn. */
  let shownAt: number | undefined;
  let shownStep: number | undefined;
  let finished = false;

  const eta = (step: number, at: number): string => {
    if (!first || step <= first.step || step >= total) return '';
    const perStep = (at - first.at) / (step - first.step);
    return `  ETA ${formatDuration((perStep * (total - step)) / 1000)}`;
  };
  const elapsed = (at: number): string => `  in ${formatDuration((at - started) / 1000)}`;
  const tail = (step: number, fields: ProgressFields | undefined, at: number): string =>
    `${formatFields(fields)}${step >= total ? elapsed(at) : eta(step, at)}`;

  const bar = (step: number): string => {
    const filled = total === 0 ? width : Math.min(width, Math.floor((width * Math.max(0, step)) / total));
    return `[${paint(color, 'green', '#'.repeat(filled))}${paint(color, 'dim', '-'.repeat(width - filled))}]`;
  };

  /** The redrawn line; its end is cut to the terminal's width (a wrapped line could not be redrawn). */
  const barLine = (step: number, end: string): string => {
    const head = `${options.label} `;
    const after = ` ${step}/${total}${end}`;
    const room = io.columns ? io.columns - 1 - head.length - (width + 2) : Infinity;
    const cut = after.length > room ? `${after.slice(0, Math.max(0, room - 1))}…` : after;
    return `\r${head}${bar(step)}${cut}${CLEAR_TO_END}`;
  };

  const show = (step: number, end: string, at: number): void => {
    io.stderr(interactive ? barLine(step, end) : `${options.label} ${step}/${total}${end}\n`);
    shownAt = at;
    shownStep = step;
  };

  return {
    update(step, fields) {
      if (finished) return;
      const at = now();
      first ??= { step, at };
      last = { step, ...(fields ? { fields } : {}) };
      const due = interactive
        ? shownAt === undefined || at - shownAt >= redrawMs
        : step % every === 0 || at - (shownAt ?? started) >= intervalMs;
      if (due || step >= total) show(step, tail(step, fields, at), at);
    },
    note(line) {
      if (finished || !interactive || shownAt === undefined || !last) {
        io.stderr(`${line}\n`);
        return;
      }
      io.stderr(`\r${CLEAR_TO_END}${line}\n`);
      const at = now();
      show(last.step, tail(last.step, last.fields, at), at);
    },
    abort() {
      if (finished) return;
      finished = true;
      if (interactive && shownAt !== undefined) io.stderr('\n');
    },
    done(summary) {
      if (finished) return;
      finished = true;
      const at = now();
      const extra = summary ? `  ${summary}` : '';
      if (!last) {
        if (summary) io.stderr(`${options.label} ${summary}\n`);
      } else if (interactive) {
        io.stderr(`${barLine(last.step, `${formatFields(last.fields)}${elapsed(at)}${extra}`)}\n`);
      } else if (shownStep !== last.step || extra !== '') {
        io.stderr(
          `${options.label} ${last.step}/${total}${formatFields(last.fields)}${elapsed(at)}${extra}\n`,
        );
      }
    },
  };
}
