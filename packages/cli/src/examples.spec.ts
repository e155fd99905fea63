import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leafCommands } from './bad-input/cases';
import { IMAGE_OPTIONS, commandPath } from './commands/parse-options';
import { EXAMPLES } from './examples';
import { commandTree } from './program';

/** This package's folder. */
const CLI_PACKAGE_ROOT = fileURLToPath(new URL('..', import.meta.url));

const PICTURE = join(CLI_PACKAGE_ROOT, '..', '..', 'docs', 'preview-bird.png');

/** The leaf command of `program` that `args` names, and the args as commander gets them. */
function leafOf(program: Command, args: readonly string[]): Command {
  let command = program;
  for (const word of args) {
    const sub = command.commands.find((c) => c.name() === word);
    if (sub) command = sub;
  }
  return command;
}

describe('the --help examples', () => {
  let dir: string;
  const start = process.cwd();
  beforeAll(async () => {
    // The examples' images exist (any decodable picture); their outputs would go here.
    dir = await mkdtemp(join(tmpdir(), 'transplant-examples-'));
    const images = new Set<string>();
    for (const [path, examples] of Object.entries(EXAMPLES))
      for (const example of examples) {
        const words = example.split(' ');
        for (const option of IMAGE_OPTIONS[path] ?? []) {
          const at = words.indexOf(`--${option}`);
          if (at >= 0) images.add(words[at + 1]!);
        }
      }
    for (const image of images) await copyFile(PICTURE, join(dir, image));
    process.chdir(dir);
  });
  afterAll(async () => {
    process.chdir(start);
    await rm(dir, { recursive: true, force: true });
  });

  it('every command and group of commands has at least one, and every example names one', () => {
    const paths: string[] = [];
    const walk = (command: Command) => {
      for (const sub of command.commands.filter((c) => c.name() !== 'help')) {
        paths.push(commandPath(sub));
        walk(sub);
      }
    };
    walk(commandTree());
    expect(paths).toEqual(expect.arrayContaining(leafCommands().map(({ path }) => path)));
    expect(paths.filter((path) => !EXAMPLES[path])).toEqual([]);
    expect(Object.keys(EXAMPLES).filter((path) => !paths.includes(path))).toEqual([]);
  });

  it.each(Object.entries(EXAMPLES).flatMap(([path, examples]) => examples.map((e) => [path, e] as const)))(
    '%s: `%s` parses, passes the option checks and reaches its action',
    async (path, example) => {
      const words = example.split(' ');
      expect(words[0]).toBe('transplant');
      const program = commandTree();
      const errors: string[] = [];
      program.configureOutput({
        writeErr: (text) => errors.push(text),
        outputError: (text) => errors.push(text),
      });
      const leaf = leafOf(program, words.slice(1));
      // A group's example runs one of its commands (`generic` shows `add-category` too).
      expect(leaf.commands.filter((c) => c.name() !== 'help')).toEqual([]);
      if (!['generic'].includes(path)) expect(`${commandPath(leaf)} `.startsWith(`${path} `)).toBe(true);
      let reached = false;
      leaf.action(() => {
        reached = true;
      });
      await program.parseAsync(words.slice(1), { from: 'user' });
      expect(errors).toEqual([]);
      expect(reached).toBe(true);
    },
  );

  it("is printed by the command's --help, and the program's help lists the exit codes", () => {
    const program = commandTree();
    const transplant = program.commands.find((c) => c.name() === 'transplant')!;
    let help = '';
    transplant.configureOutput({ writeOut: (text) => (help += text) });
    transplant.outputHelp();
    expect(help).toContain('$ transplant transplant --from bird-cls --to cat-seg');
    let top = '';
    program.configureOutput({ writeOut: (text) => (top += text) });
    program.outputHelp();
    expect(top).toMatch(/Exit codes:\n\s+0 .*\n\s+1 .*coded error.*\n\s+2 .*usage/);
  });
});
