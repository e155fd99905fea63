import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Argument, Command, Option } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMPLETION_INSTALL, completionScript, describeCompletions } from './completion';
import { commandTree } from './program';

/** A small tree with what the real one has: globals, nesting, choices, paths, variadics, an alias. */
function demoProgram(): Command {
  const program = new Command('demo')
    .version('1.0.0')
    .option('--profile <name>', 'a profile')
    .option('--verbose', 'say more')
    .option('--level <id>', 'log level: quiet | normal | loud');
  program
    .command('build')
    .option('--target <web|worker>', 'where it runs')
    .option('--out <dir>', 'output folder')
    .option('--config <file>', 'a config file')
    .option('--include <path...>', 'extra files')
    .option('--watch', 'rebuild on change')
    .option('--mode <k|name>', 'a mode by index or name')
    .addOption(new Option('--format <kind>', 'output format').choices(['esm', 'cjs']))
    .argument('[entry]', 'entry file');
  const remote = program.command('remote').alias('r').description('remotes');
  remote.command('add').argument('<name>').argument('<folder>').option('--fetch', 'fetch now');
  remote.command('remove').argument('<names...>');
  program.command('completion').addArgument(new Argument('<shell>').choices(['bash', 'zsh']));
  return program;
}

let work: string;
let demoBash: string;
let realBash: string;
let demoZsh: string;
let realZsh: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'transplant-completion-'));
  demoBash = join(work, 'demo.bash');
  realBash = join(work, 'transplant.bash');
  demoZsh = join(work, 'demo.zsh');
  realZsh = join(work, 'zfunc', '_transplant');
  mkdirSync(join(work, 'zfunc'));
  writeFileSync(demoBash, completionScript(demoProgram(), 'bash'));
  writeFileSync(realBash, completionScript(commandTree(), 'bash'));
  writeFileSync(demoZsh, completionScript(demoProgram(), 'zsh'));
  writeFileSync(realZsh, completionScript(commandTree(), 'zsh'));
  // Names for file and folder completion.
  mkdirSync(join(work, 'files', 'photos'), { recursive: true });
  writeFileSync(join(work, 'files', 'photo.png'), '');
  writeFileSync(join(work, 'files', 'photo.txt'), '');
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

function shell(program: 'bash' | 'zsh', args: string[], script: string) {
  const result = spawnSync(program, [...args, '-c', script], { cwd: join(work, 'files'), encoding: 'utf8' });
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  return result.stdout;
}

/** Sources `script` in bash and completes the last of `words`; COMPREPLY, sorted. */
function bash(script: string, fn: string, words: string[], wordbreaks?: string): string[] {
  const quoted = words.map((w) => `'${w.replace(/'/g, `'\\''`)}'`).join(' ');
  const out = shell(
    'bash',
    ['--norc', '--noprofile'],
    // PATH emptied: completing may use builtins only (no node, no other process).
    `source '${script}' && PATH=/nonexistent && ${wordbreaks === undefined ? '' : `COMP_WORDBREAKS='${wordbreaks}';`}
     COMP_WORDS=(${quoted}); COMP_CWORD=$((\${#COMP_WORDS[@]} - 1)); COMPREPLY=(); ${fn}
     printf '%s\\n' "\${COMPREPLY[@]}"`,
  );
  return out
    .split('\n')
    .filter((line) => line !== '')
    .sort();
}

describe('bash completion of a small tree', () => {
  const complete = (...words: string[]) => bash(demoBash, '_demo', ['demo', ...words]);

  it('completes the commands, then nested subcommands, aliases included', () => {
    expect(complete('')).toEqual(['build', 'completion', 'help', 'remote']);
    expect(complete('re')).toEqual(['remote']);
    expect(complete('remote', '')).toEqual(['add', 'help', 'remove']);
    expect(complete('r', 'rem')).toEqual(['remove']);
    expect(complete('remote', 'help', '')).toEqual(['add', 'remove']);
    expect(complete('help', '')).toEqual(['build', 'completion', 'remote']);
  });

  it("completes a command's long options and the global ones, before or after the command", () => {
    expect(complete('-')).toEqual(['--help', '--level', '--profile', '--verbose', '--version']);
    expect(complete('build', '--')).toEqual([
      '--config',
      '--format',
      '--help',
      '--include',
      '--level',
      '--mode',
      '--out',
      '--profile',
      '--target',
      '--verbose',
      '--watch',
    ]);
    expect(complete('--profile', 'p1', 'remote', 'add', '--')).toEqual([
      '--fetch',
      '--help',
      '--level',
      '--profile',
      '--verbose',
    ]);
  });

  it('completes choices: from the placeholder, from .choices(), from a listed description', () => {
    expect(complete('build', '--target', '')).toEqual(['web', 'worker']);
    expect(complete('build', '--format', 'e')).toEqual(['esm']);
    expect(complete('--level', '')).toEqual(['loud', 'normal', 'quiet']);
    expect(complete('build', '--level', 'l')).toEqual(['loud']);
    // `<k|name>` names two kinds of value, not two values.
    expect(complete('build', '--mode', '')).toEqual([]);
    expect(complete('--profile', '')).toEqual([]);
  });

  it('completes --opt=value however COMP_WORDBREAKS splits it', () => {
    expect(bash(demoBash, '_demo', ['demo', 'build', '--target', '=', 'wo'])).toEqual(['worker']);
    expect(bash(demoBash, '_demo', ['demo', 'build', '--target', '='])).toEqual(['web', 'worker']);
    expect(bash(demoBash, '_demo', ['demo', 'build', '--target=we'], ' \t\n')).toEqual(['--target=web']);
  });

  it('completes file and folder names for path values and arguments', () => {
    expect(complete('build', '--config', 'photo')).toEqual(['photo.png', 'photo.txt', 'photos']);
    expect(complete('build', '--out', 'photo')).toEqual(['photos']);
    expect(complete('build', '--include', 'a.txt', 'photo.p')).toEqual(['photo.png']);
    expect(complete('remote', 'add', 'origin', 'pho')).toEqual(['photos']);
    expect(complete('completion', '')).toEqual(['bash', 'zsh']);
    // A value that is no path: nothing, not the files.
    expect(complete('remote', 'add', '')).toEqual([]);
  });

  it("does not take an option's value or a variadic's values for a command", () => {
    expect(complete('--profile', 'remote', '')).toEqual(['build', 'completion', 'help', 'remote']);
    expect(complete('build', '--include', 'remote', '--watch', '--t')).toEqual(['--target']);
    // A command's own arguments used up: its options.
    expect(complete('build', 'main.ts', '--w')).toEqual(['--watch']);
  });
});

describe('bash completion of the transplant commands', () => {
  const complete = (...words: string[]) => bash(realBash, '_transplant', ['transplant', ...words]);

  it('completes the top-level commands and nested ones', () => {
    const top = complete('');
    expect(top).toEqual(
      expect.arrayContaining(['doctor', 'registry', 'transplant', 'explain', 'graph', 'data']),
    );
    expect(complete('registry', 'p')).toEqual(['publish', 'pull', 'push']);
    expect(complete('graph', '')).toEqual(['help', 'inspect', 'localize', 'mine', 'nodes']);
  });

  it("completes a command's options, the global ones included", () => {
    const options = complete('transplant', '--');
    expect(options).toEqual(
      expect.arrayContaining(['--from', '--to', '--method', '--adapter', '--restart', '--backend', '--json']),
    );
    expect(options).not.toContain('--version');
    expect(complete('import', '--ver')).toEqual(['--version']);
    expect(complete('--json', 'graph', 'mine', '--at')).toEqual(['--attach']);
  });

  it('completes the choices of option values, the global --backend after a command too', () => {
    expect(complete('transplant', '--method', '')).toEqual(['bd', 'kd', 'ol']);
    expect(complete('add-task', '--adapter', '')).toEqual(['conv1', 'conv3']);
    expect(complete('transplant', '--probe', '')).toEqual(['pseudo-label', 'random']);
    expect(complete('graph', 'mine', '--views', '')).toEqual(['align', 'fit', 'original']);
    expect(complete('data', 'preview', '--split', 'd')).toEqual(['dev']);
    expect(complete('explain', '--backend', 'wasm')).toEqual(['wasm', 'wasm+onednn']);
    expect(complete('--backend', 'cpu', 'doctor', '--j')).toEqual(['--json']);
  });

  it('completes paths for --image, --out <dir> and a module folder, nothing for a registry reference', () => {
    expect(complete('predict', '--image', 'photo.')).toEqual(['photo.png', 'photo.txt']);
    expect(complete('explain', '--out', 'ph')).toEqual(['photos']);
    expect(complete('registry', 'publish', 'ph')).toEqual(['photos']);
    expect(complete('predict', '--net', '')).toEqual([]);
  });
});

/** Sources `script` in a plain zsh with the completion builtins replaced, and completes `words`. */
function zsh(script: string, fn: string, words: string[]): string[] {
  const quoted = words.map((w) => `'${w.replace(/'/g, `'\\''`)}'`).join(' ');
  const out = shell(
    'zsh',
    ['-f'],
    `compdef() { print -r -- "compdef $*"; }
     compadd() {
       while [[ $1 == -* && $1 != -- ]]; do shift; done; [[ $1 == -- ]] && shift
       local w; for w in "$@"; do [[ $w == \${PREFIX}* ]] && print -r -- "$w"; done
     }
     compset() { [[ $1 == -P ]] && PREFIX=\${PREFIX#*=}; }
     _files() { print -r -- "<files $*>"; }
     source '${script}'
     path=()
     words=(${quoted}); CURRENT=\${#words}; PREFIX=\${words[CURRENT]}; ${fn}; true`,
  );
  return out
    .split('\n')
    .filter((line) => line !== '')
    .sort();
}

describe('zsh completion', () => {
  it('is valid zsh', () => {
    shell('zsh', ['-f'], `zsh -n '${demoZsh}' && zsh -n '${realZsh}'`);
  });

  it('registers itself when sourced', () => {
    expect(shell('zsh', ['-f'], `compdef() { print -r -- "compdef $*"; }; source '${realZsh}'`)).toBe(
      'compdef _transplant transplant\n',
    );
  });

  it('completes commands, options, choices and paths', () => {
    const demo = (...words: string[]) =>
      zsh(demoZsh, '_demo', ['demo', ...words]).filter((l) => !l.startsWith('compdef'));
    expect(demo('')).toEqual(['build', 'completion', 'help', 'remote']);
    expect(demo('completion', '')).toEqual(['bash', 'zsh']);
    expect(demo('r', 'rem')).toEqual(['remove']);
    expect(demo('build', '--w')).toEqual(['--watch']);
    expect(demo('remote', 'add', '--')).toEqual(['--fetch', '--help', '--level', '--profile', '--verbose']);
    expect(demo('build', '--target', '')).toEqual(['web', 'worker']);
    expect(demo('build', '--target=wo')).toEqual(['worker']);
    expect(demo('build', '--out', '')).toEqual(['<files -/>']);
    expect(demo('build', '--include', 'a', '')).toEqual(['<files >']);
    expect(demo('remote', 'add', '')).toEqual([]);

    const real = (...words: string[]) =>
      zsh(realZsh, '_transplant', ['transplant', ...words]).filter((l) => !l.startsWith('compdef'));
    expect(real('registry', 'p')).toEqual(['publish', 'pull', 'push']);
    expect(real('transplant', '--method', '')).toEqual(['bd', 'kd', 'ol']);
    expect(real('--json', 'transplant', '--ad')).toEqual(['--adapter']);
    expect(real('explain', '--backend', 'w')).toEqual(['wasm', 'wasm+onednn']);
  });

  it('completes in an interactive zsh that autoloads it from $fpath (compinit)', () => {
    // A real completion widget in a pseudo-terminal: TAB on `--meth`, then TAB twice lists the values.
    const driver = `
      zmodload zsh/zpty
      zpty z 'env -i HOME=${work} TERM=dumb PATH=/usr/bin:/bin zsh -f -i'
      zpty -w z 'PS1="> "; fpath=(${join(work, 'zfunc')} $fpath); autoload -U compinit; compinit -u -D; transplant() { :; }; print READY$((1 + 1))'
      zpty -r z out '*READY2*'
      zpty -w -n z $'transplant transplant --meth\\t'
      zpty -r z out '*--method *'
      zpty -w -n z $'\\t\\t'
      zpty -r z out '*bd*kd*ol*'
      zpty -w -n z $'\\x15transplant registry pu\\t'
      zpty -r z out '*publish*pull*push*'
      print -r -- ok
      zpty -d z`;
    const result = spawnSync('timeout', ['20', 'zsh', '-f', '-c', driver], { encoding: 'utf8' });
    expect(result.stdout.trim()).toBe('ok');
    expect(result.status).toBe(0);
  });
});

describe('completion data', () => {
  it('reads the value kind from placeholders, choices and descriptions', () => {
    const build = describeCompletions(demoProgram()).find((c) => c.path.join(' ') === 'build');
    const value = (long: string) => build?.options.find((o) => o.long === long)?.value;
    expect(value('--target')).toEqual({ kind: 'choices', choices: ['web', 'worker'] });
    expect(value('--format')).toEqual({ kind: 'choices', choices: ['esm', 'cjs'] });
    expect(value('--mode')).toEqual({ kind: 'none' });
    expect(value('--out')).toEqual({ kind: 'dir' });
    expect(value('--config')).toEqual({ kind: 'file' });
    expect(value('--watch')).toBeUndefined();
    expect(build?.options.find((o) => o.long === '--include')?.variadic).toBe(true);
  });

  it('covers every command of the real tree', () => {
    const paths = describeCompletions(commandTree()).map((c) => c.path.join(' '));
    const walk = (command: Command, prefix: string[]): string[] =>
      command.commands.flatMap((c) => [[...prefix, c.name()].join(' '), ...walk(c, [...prefix, c.name()])]);
    expect(paths).toEqual(expect.arrayContaining(walk(commandTree(), [])));
  });

  it('says how to install it for both shells', () => {
    expect(COMPLETION_INSTALL).toContain('source <(transplant completion bash)');
    expect(COMPLETION_INSTALL).toContain('transplant completion zsh > ~/.zfunc/_transplant');
  });
});
