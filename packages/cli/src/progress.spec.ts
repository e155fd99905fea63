import { describe, expect, it } from 'vitest';
import { createProgress, formatDuration, paint, useColor, type ProgressOptions } from './progress';

/** A fake stderr and clock: `tick(ms)` moves time on. */
function fake(isTTY: boolean, env: Record<string, string | undefined> = {}, columns?: number) {
  let time = 1_000;
  const writes: string[] = [];
  const io = {
    stderr: (text: string) => void writes.push(text),
    isTTY,
    env,
    now: () => time,
    ...(columns ? { columns } : {}),
  };
  return {
    io,
    writes,
    text: () => writes.join(''),
    tick: (ms: number) => void (time += ms),
    progress: (options: ProgressOptions) => createProgress(io, options),
  };
}

// eslint-disable-next-line no-control-regex -- what must never reach a file or a pipe
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f]/;

describe('progress off a terminal', () => {
  it('prints plain lines every N steps and the last step, with the ETA from the pace so far', () => {
    const f = fake(false);
    const p = f.progress({ label: 'step', total: 400, every: 100 });
    for (let step = 1; step <= 400; step++) {
      f.tick(50);
      p.update(step, { loss: 1 / step });
    }
    p.done();
    expect(f.writes).toEqual([
      'step 100/400  loss 0.0100  ETA 15 s\n',
      'step 200/400  loss 0.0050  ETA 10 s\n',
      'step 300/400  loss 0.0033  ETA 5 s\n',
      'step 400/400  loss 0.0025  in 20 s\n',
    ]);
  });

  it('prints a line when the interval passed, and the last step given even below the total', () => {
    const f = fake(false);
    const p = f.progress({ label: 'conv5: EM', total: 1000, every: 500, intervalMs: 10_000 });
    p.update(1);
    f.tick(4_000);
    p.update(2);
    f.tick(6_000);
    p.update(3);
    f.tick(1_000);
    p.update(4);
    p.done('converged');
    expect(f.writes).toEqual([
      'conv5: EM 3/1000  ETA 1 h 23 min\n',
      'conv5: EM 4/1000  in 11 s  converged\n',
    ]);
  });

  it('has no control characters, whatever the environment says about color', () => {
    for (const env of [{}, { TERM: 'xterm-256color', FORCE_COLOR: '1' }, { NO_COLOR: '1' }]) {
      const f = fake(false, env);
      const p = f.progress({ label: 'step', total: 30, every: 10 });
      for (let step = 1; step <= 30; step++) p.update(step, { loss: 0.5, link: 'cat → bird' });
      p.note('a log line');
      p.done('published');
      expect(f.writes.length).toBeGreaterThan(3);
      for (const line of f.writes) {
        expect(line.endsWith('\n')).toBe(true);
        expect(line.slice(0, -1)).not.toMatch(CONTROL);
      }
    }
  });

  it('a tenth of the total by default; a run resumed at step 201 measures its own pace', () => {
    const f = fake(false);
    const p = f.progress({ label: 'step', total: 400 });
    for (let step = 201; step <= 240; step++) {
      f.tick(100);
      p.update(step);
    }
    expect(f.writes).toEqual(['step 240/400  ETA 16 s\n']);
  });
});

describe('progress on a terminal', () => {
  it('redraws one line in place, at most every 100 ms, and ends it with a newline', () => {
    const f = fake(true, { TERM: 'xterm' });
    const p = f.progress({ label: 'step', total: 100, width: 10 });
    for (let step = 1; step <= 100; step++) {
      f.tick(20);
      p.update(step, { loss: 0.25 });
    }
    p.done();
    // The first step, then one redraw per 5 steps of 20 ms, the last, and the final line.
    expect(f.writes.length).toBe(1 + 20 + 1);
    expect(f.writes.every((w) => w.startsWith('\r'))).toBe(true);
    expect(f.writes[0]).toBe('\rstep ' + paintedBar(0, 10) + ' 1/100  loss 0.2500\u001b[K');
    expect(f.writes[10]).toBe('\r' + 'step ' + paintedBar(5, 5) + ' 51/100  loss 0.2500  ETA 1 s\u001b[K');
    expect(f.writes.at(-1)).toBe('\rstep ' + paintedBar(10, 0) + ' 100/100  loss 0.2500  in 2 s\u001b[K\n');
    expect(f.text().split('\n')).toEqual([expect.any(String), '']);
  });

  it('draws without color when NO_COLOR is set', () => {
    const f = fake(true, { NO_COLOR: '1' });
    const p = f.progress({ label: 'step', total: 4, width: 4 });
    p.update(1, { loss: 0.5 });
    f.tick(200);
    p.update(2, { loss: 0.25 });
    p.done('stopped early');
    expect(f.writes).toEqual([
      '\rstep [#---] 1/4  loss 0.5000\u001b[K',
      '\rstep [##--] 2/4  loss 0.2500  ETA 0 s\u001b[K',
      '\rstep [##--] 2/4  loss 0.2500  in 0 s  stopped early\u001b[K\n',
    ]);
  });

  it('prints plain lines with TERM=dumb, which has no cursor to move', () => {
    const f = fake(true, { TERM: 'dumb' });
    const p = f.progress({ label: 'step', total: 2, every: 1 });
    p.update(1);
    p.update(2);
    p.done();
    expect(f.writes).toEqual(['step 1/2\n', 'step 2/2  in 0 s\n']);
  });

  it('prints a note above the bar and draws the bar again', () => {
    const f = fake(true, { NO_COLOR: '1' });
    const p = f.progress({ label: 'step', total: 10, width: 2 });
    p.update(5);
    p.note('checkpoint saved');
    p.done();
    p.note('after');
    expect(f.writes).toEqual([
      '\rstep [#-] 5/10\u001b[K',
      '\r\u001b[Kcheckpoint saved\n',
      '\rstep [#-] 5/10\u001b[K',
      '\rstep [#-] 5/10  in 0 s\u001b[K\n',
      'after\n',
    ]);
  });

  it('ends the drawn line as it stands when the loop fails (abort), so that the error starts a line', () => {
    const f = fake(true, { TERM: 'xterm', NO_COLOR: '1' });
    const p = f.progress({ label: 'step', total: 300, every: 25 });
    p.update(1, { loss: 1.2 });
    p.abort();
    expect(f.text()).toBe('\rstep [--------------------] 1/300  loss 1.2000\u001b[K\n');
    p.update(2);
    p.done();
    p.abort();
    expect(f.writes).toHaveLength(2);
    // Nothing drawn yet, or off a terminal: nothing to end.
    const quiet = fake(true, { TERM: 'xterm' });
    quiet.progress({ label: 'step', total: 3 }).abort();
    const piped = fake(false);
    const q = piped.progress({ label: 'step', total: 3 });
    q.update(3);
    q.abort();
    expect(quiet.writes).toEqual([]);
    expect(piped.writes).toEqual(['step 3/3  in 0 s\n']);
  });

  it('cuts the line to the terminal width', () => {
    const f = fake(true, { NO_COLOR: '1' }, 30);
    const p = f.progress({ label: 'step', total: 400, width: 10 });
    p.update(1, { loss: 0.123456, accuracy: 0.5 });
    const line = f.writes[0]!.replace('\r', '').replace('\u001b[K', '');
    expect(line).toBe('step [----------] 1/400  los…');
    expect(line.length).toBe(29);
  });
});

/** The bar as painted in color: `#` green, `-` dim. */
function paintedBar(filled: number, empty: number): string {
  const green = filled > 0 ? `\u001b[32m${'#'.repeat(filled)}\u001b[39m` : '';
  const dim = empty > 0 ? `\u001b[2m${'-'.repeat(empty)}\u001b[22m` : '';
  return `[${green}${dim}]`;
}

describe('color', () => {
  it('only on a terminal, not with NO_COLOR (non-empty) or TERM=dumb', () => {
    const io = (isTTY: boolean, env: Record<string, string | undefined>) => ({
      stderr: () => undefined,
      isTTY,
      env,
    });
    expect(useColor(io(true, {}))).toBe(true);
    expect(useColor(io(true, { NO_COLOR: '' }))).toBe(true);
    expect(useColor(io(true, { NO_COLOR: '1' }))).toBe(false);
    expect(useColor(io(true, { NO_COLOR: '0' }))).toBe(false);
    expect(useColor(io(true, { TERM: 'dumb' }))).toBe(false);
    expect(useColor(io(false, {}))).toBe(false);
    expect(useColor({ stderr: () => undefined, env: {} })).toBe(false);
  });

  it('paints only when asked', () => {
    expect(paint(true, 'red', 'error E_USAGE')).toBe('\u001b[31merror E_USAGE\u001b[39m');
    expect(paint(false, 'red', 'error E_USAGE')).toBe('error E_USAGE');
    expect(paint(true, 'bold', '')).toBe('');
  });

  it('formats durations', () => {
    expect([0, 12.4, 59.6, 185, 3600 + 7 * 60 + 30].map(formatDuration)).toEqual([
      '0 s',
      '12 s',
      '1 min 00 s',
      '3 min 05 s',
      '1 h 07 min',
    ]);
  });
});
