import type { Command, Option } from 'commander';
import { commandTree } from '../program';

/**
 * The generated bad-input suite's cases, made from the command definitions: every leaf command,
 * every option and positional argument of it (and the program's global options) gets cases from
 * the kind of value it takes — read from its flags and description — so that a new option is
 * covered as soon as it is defined. An option whose kind cannot be read fails the suite (see
 * {@link kindOf}), and a command without a baseline too (see {@link BaselineTable}).
 */

/** The files and folders the cases point at (made by the spec in a temporary folder). */
export interface Fixtures {
  /** A valid PNG. */
  readonly image: string;
  /** An existing folder (not a registry, not an image). */
  readonly folder: string;
  /** An existing empty folder. */
  readonly emptyFolder: string;
  /** An existing plain text file. */
  readonly file: string;
  /** A path below a plain file (ENOTDIR: unreadable for every user, root included). */
  readonly underFile: string;
  /** A path that does not exist (its parent does). */
  readonly missing: string;
  /** 4 KiB of seeded random bytes. */
  readonly garbage: string;
  /** A file of 0 bytes. */
  readonly empty: string;
  /** A PNG cut in the middle of its image data. */
  readonly truncatedPng: string;
  /** A PNG whose header declares 30000 × 30000 pixels (and holds a few bytes of data). */
  readonly hugePng: string;
  /** `{"format": …` cut off: JSON that does not parse. */
  readonly corruptJson: string;
  /** Valid JSON of the wrong shape (`{}`). */
  readonly wrongJson: string;
  /** A module folder whose manifest.json is corrupt JSON. */
  readonly corruptModuleFolder: string;
  /** A CUB layout folder whose images.txt is binary garbage. */
  readonly corruptCubFolder: string;
}

/** What kind of value an option or argument takes; each kind has its own bad values. */
export type Kind =
  | 'flag'
  | 'count'
  | 'weight'
  | 'choice'
  | 'network'
  | 'networks'
  | 'classifier'
  | 'generic'
  | 'new-name'
  | 'module-name'
  | 'module-ref'
  | 'module-refs'
  | 'exact-ref'
  | 'link-module'
  | 'category-id'
  | 'category-name'
  | 'backend'
  | 'registry'
  | 'image'
  | 'images'
  | 'graph-file'
  | 'model-json'
  | 'labels-file'
  | 'module-folder'
  | 'cub-folder'
  | 'out-file'
  | 'out-dir'
  | 'semver'
  | 'link'
  | 'names'
  | 'node-list'
  | 'seed-text'
  | 'layer'
  | 'graph-node'
  | 'range'
  | 'int-list'
  | 'class'
  | 'port'
  | 'host';

/** One option or positional argument of a command. */
export interface Slot {
  /** The command path, e.g. `graph localize` ('' for the program's global options). */
  readonly command: string;
  /** `--steps` for an option, `<generic>` for an argument. */
  readonly name: string;
  readonly kind: Kind;
  readonly option?: Option;
  /** A required option (requiredOption) or a required argument. */
  readonly required: boolean;
}

/** One bad value of a kind; `accepted` (with the reason) for one the command legitimately takes. */
export interface BadValue {
  readonly label: string;
  readonly value: string;
  readonly accepted?: string;
  /** What the error line must also say (beyond being one coded line). */
  readonly message?: RegExp;
}

/** One generated case: the arguments (after the global ones the spec adds) and what it tests. */
export interface BadInputCase {
  readonly command: string;
  readonly slot: string;
  readonly label: string;
  readonly argv: readonly string[];
  /** The global options, when the case is about one of them (else the spec's defaults). */
  readonly globals?: Readonly<Record<string, string | true>>;
  readonly accepted?: string;
  readonly message?: RegExp;
  /** Run with --json: the failure is then one JSON object `{"error":{code,message}}` on one line. */
  readonly json?: boolean;
}

/** The valid values a command needs besides the slot under test: its arguments and options. */
export interface Baseline {
  readonly args: readonly string[];
  readonly options: Readonly<Record<string, string | true>>;
}

/** A valid baseline per leaf command; a command missing here fails the suite. */
export type BaselineTable = Readonly<Record<string, Baseline>>;

/** The placeholder of an option (`--steps <n>` → `n`) or argument (`<generic>` → `generic`). */
function placeholder(flags: string): string | undefined {
  return (/<([^>]+)>/.exec(flags) ?? /\[([^\]]+)\]/.exec(flags))?.[1]?.replace(/\.\.\.$/, '');
}

/** Kinds by placeholder, when the placeholder alone says it. */
const BY_PLACEHOLDER: Readonly<Record<string, Kind>> = {
  n: 'count',
  count: 'count',
  pixels: 'count',
  k: 'count',
  i: 'count',
  ms: 'count',
  w: 'weight',
  network: 'network',
  networks: 'networks',
  ref: 'network',
  generic: 'generic',
  prefix: 'new-name',
  module: 'link-module',
  dir: 'out-dir',
  location: 'registry',
  'model.json': 'model-json',
  semver: 'semver',
  'category:task[:adapter]': 'link',
  names: 'names',
  list: 'node-list',
  text: 'seed-text',
  seed: 'seed-text',
  'layer|node': 'layer',
  category: 'category-name',
  node: 'graph-node',
  'lo,hi': 'range',
  'i,j,…': 'int-list',
  'a,b,…': 'names',
  'k|name': 'class',
  'module-folder': 'module-folder',
  refs: 'module-refs',
  'name@version': 'exact-ref',
  split: 'choice',
  rule: 'choice',
  task: 'choice',
  shell: 'choice',
  port: 'port',
  host: 'host',
};

/**
 * The kind of value a slot takes, from its flags, placeholder and description (and, for the
 * few placeholders that mean several things, the option's name); throws for one it cannot read,
 * so that a new option with a new kind of value cannot go untested.
 */
export function kindOf(
  command: string,
  name: string,
  flags: string,
  description: string,
  commandDescription = '',
): Kind {
  const p = placeholder(flags);
  if (p === undefined) return 'flag';
  const where = `${command || '(global)'} ${name}`;
  // Alternatives (`<bd|kd|ol>`) are a choice, unless the table reads them otherwise (`<k|name>`).
  if (/^[a-z0-9-]+(\|[a-z0-9-]+)+$/.test(p) && !BY_PLACEHOLDER[p]) return 'choice';
  switch (p) {
    case 'name':
      if (name === '--name') return 'new-name';
      if (name === '--generic') return 'generic';
      if (name === '--layer') return 'layer';
      if (name === '<name>') return 'module-name';
      break;
    case 'id':
      if (name === '--backend') return 'backend';
      if (name === '--category') return 'category-id';
      break;
    case 'ref':
      if (name === '<ref>') return 'module-ref';
      // A command for classification networks gets a segmenter as its wrong task.
      return /classification network/.test(commandDescription) ? 'classifier' : 'network';
    case 'file':
      if (/write|goes|draw|overlay/i.test(description)) return 'out-file';
      if (/JPEG|PNG|image/.test(description)) return 'image';
      if (/graph file/.test(description)) return 'graph-file';
      if (/one class name per line/.test(description)) return 'labels-file';
      break;
    case 'path':
      if (name === '--lockfile') return 'out-file';
      if (name === '--check-image') return 'images';
      if (name === '--cub') return 'cub-folder';
      break;
    default: {
      const kind = BY_PLACEHOLDER[p];
      if (kind) return kind;
    }
  }
  throw new Error(
    `bad-input suite: no kind of value for ${where} (${flags}: ${description}); add its placeholder to cases.ts`,
  );
}

const HUGE_INTEGER = '99999999999999999999';
const LONG_NAME = 'n'.repeat(300);

/** Names that must never become a module, file or folder name. */
const BAD_NAMES: readonly BadValue[] = [
  { label: 'empty', value: '' },
  { label: '..', value: '..' },
  { label: 'a path with /', value: 'cat/../../x' },
  { label: 'unicode', value: 'kätzchen-猫' },
  { label: '300 characters', value: LONG_NAME },
];

/** References to what the registry does not hold (or cannot name). */
const BAD_REFS: readonly BadValue[] = [
  ...BAD_NAMES,
  { label: 'not published', value: 'no-such-network' },
  { label: 'a version not published', value: 'cat-cls@9.9.9' },
  { label: 'a malformed selector', value: 'cat-cls@>>1' },
];

const BAD_FILES = (f: Fixtures): BadValue[] => [
  { label: 'empty path', value: '' },
  { label: 'missing', value: f.missing },
  { label: 'a directory', value: f.folder },
  { label: 'unreadable (below a file)', value: f.underFile },
  { label: 'binary garbage', value: f.garbage },
  { label: 'empty file', value: f.empty },
];

/** The bad values of each kind. */
export function badValues(kind: Kind, f: Fixtures): readonly BadValue[] {
  switch (kind) {
    case 'flag':
      return [];
    case 'port':
      return [
        { label: 'empty', value: '' },
        { label: 'wrong type', value: 'http' },
        { label: 'negative', value: '-1' },
        { label: 'fractional', value: '80.5' },
        { label: 'out of range', value: '65536', message: /0 to 65535/ },
        { label: 'huge', value: HUGE_INTEGER },
        { label: 'non-finite', value: 'Infinity' },
        { label: 'NaN', value: 'NaN' },
      ];
    case 'host':
      return [
        { label: 'empty', value: '' },
        { label: 'a URL', value: 'http://127.0.0.1:8080/' },
        { label: 'no address', value: '999.1.1.1', message: /address to bind/ },
        { label: 'path', value: '../etc' },
        { label: 'unicode', value: 'hôte' },
        { label: 'long', value: 'h'.repeat(300) },
      ];
    case 'count':
      return [
        { label: 'empty', value: '' },
        { label: 'wrong type', value: 'many' },
        { label: 'negative', value: '-1' },
        { label: 'fractional', value: '2.5' },
        { label: 'huge', value: HUGE_INTEGER },
        { label: 'non-finite', value: 'Infinity' },
        { label: 'NaN', value: 'NaN' },
      ];
    case 'weight':
      return [
        { label: 'empty', value: '' },
        { label: 'wrong type', value: 'heavy' },
        { label: 'negative', value: '-0.5' },
        { label: 'huge (overflows to Infinity)', value: '1e400' },
        { label: 'non-finite', value: 'Infinity' },
        { label: 'NaN', value: 'NaN' },
      ];
    case 'choice':
      return [
        { label: 'empty', value: '' },
        { label: 'unknown', value: 'bogus' },
        { label: '..', value: '..' },
      ];
    case 'network':
    case 'networks':
      return [...BAD_REFS, { label: 'a module, not a network', value: 'cat-cls-features' }];
    case 'classifier':
      return [
        ...BAD_REFS,
        { label: 'a module, not a network', value: 'cat-cls-features' },
        { label: 'a network of the wrong task (seg)', value: 'cat-seg' },
      ];
    case 'generic':
      return [
        ...BAD_REFS,
        { label: 'a module, not a network', value: 'cat-cls-features' },
        { label: 'a specific network, not a generic one', value: 'cat-cls' },
      ];
    case 'new-name':
      return [...BAD_NAMES, { label: 'upper case', value: 'Animals' }];
    case 'module-name':
    case 'module-ref':
    case 'module-refs':
      return BAD_REFS;
    case 'exact-ref':
      return [
        ...BAD_NAMES,
        { label: 'no version', value: 'cat-cls' },
        { label: 'a range, not a version', value: 'cat-cls@^1' },
        { label: 'not published', value: 'no-such-network@1.0.0' },
        { label: 'a version not published', value: 'cat-cls@9.9.9' },
      ];
    case 'link-module':
      return [...BAD_NAMES, { label: 'not in the network', value: 'no-such-module' }];
    case 'category-id':
      return [...BAD_NAMES, { label: 'not a category', value: 'unicorn' }];
    case 'category-name':
      return BAD_NAMES;
    case 'backend':
      return [
        { label: 'empty', value: '' },
        { label: 'unknown', value: 'quantum' },
      ];
    case 'registry':
      return [
        { label: 'empty', value: '' },
        { label: 'missing folder', value: f.missing },
        { label: 'a file', value: f.file },
        { label: 'below a file', value: f.underFile },
        { label: 'a malformed OCI location', value: 'oci://' },
        { label: 'an unsupported scheme', value: 'ftp://example.invalid/x' },
      ];
    case 'image':
    case 'images':
      return [
        ...BAD_FILES(f),
        { label: 'truncated PNG', value: f.truncatedPng },
        // Refused from the header, before decoding: the message names the declared size.
        { label: '30000×30000 PNG header', value: f.hugePng, message: /30000 × 30000 pixels declared/ },
        { label: 'JSON, not an image', value: f.corruptJson },
      ];
    case 'graph-file':
      return [
        ...BAD_FILES(f),
        { label: 'corrupt JSON', value: f.corruptJson },
        { label: 'a PNG, not a graph', value: f.image },
      ];
    case 'model-json':
      return [
        ...BAD_FILES(f),
        { label: 'corrupt JSON', value: f.corruptJson },
        { label: 'JSON of the wrong shape', value: f.wrongJson },
        { label: 'a PNG, not a model', value: f.image },
      ];
    case 'labels-file':
      return BAD_FILES(f);
    case 'module-folder':
      return [
        { label: 'empty path', value: '' },
        { label: 'missing', value: f.missing },
        { label: 'a file', value: f.file },
        { label: 'below a file', value: f.underFile },
        { label: 'an empty folder', value: f.emptyFolder },
        { label: 'corrupt manifest JSON', value: f.corruptModuleFolder },
      ];
    case 'cub-folder':
      return [
        { label: 'empty path', value: '' },
        { label: 'missing', value: f.missing },
        { label: 'a file', value: f.file },
        { label: 'below a file', value: f.underFile },
        { label: 'an empty folder', value: f.emptyFolder },
        { label: 'binary images.txt', value: f.corruptCubFolder },
      ];
    case 'out-file':
      return [
        { label: 'empty path', value: '' },
        { label: 'an existing directory', value: f.folder },
        { label: 'below a file', value: `${f.underFile}/out.png` },
      ];
    case 'out-dir':
      return [
        { label: 'empty path', value: '' },
        { label: 'an existing file', value: f.file },
        { label: 'below a file', value: f.underFile },
      ];
    case 'semver':
      return [
        { label: 'empty', value: '' },
        { label: 'wrong type', value: 'one' },
        { label: 'two parts', value: '1.0' },
        { label: 'negative', value: '-1.0.0' },
        { label: 'huge', value: `${HUGE_INTEGER}.0.0` },
        { label: '300 characters', value: `1.0.0-${LONG_NAME}` },
      ];
    case 'link':
      return [
        { label: 'empty', value: '' },
        { label: 'one part', value: 'cat-cls-features' },
        { label: 'four parts', value: 'a:b:c:d' },
        { label: 'an empty part', value: ':cat-cls-head' },
        { label: '..', value: '..:cat-cls-head' },
        { label: 'a path with /', value: 'cat/x:cat-cls-head' },
        { label: 'unicode', value: 'kätzchen:cat-cls-head' },
        { label: '300 characters', value: `${LONG_NAME}:cat-cls-head` },
        { label: 'not published', value: 'no-such-module:cat-cls-head' },
        { label: 'the wrong kind (task as category)', value: 'cat-cls-head:cat-cls-head' },
      ];
    case 'names':
      return [
        { label: 'empty', value: '' },
        { label: 'only commas', value: ',,' },
        { label: 'unknown', value: 'no-such-thing' },
        { label: '..', value: '..' },
        { label: '300 characters', value: LONG_NAME },
      ];
    case 'node-list':
      return [
        { label: 'empty', value: '' },
        { label: 'wrong type', value: 'many' },
        { label: 'negative', value: '0:-1' },
        { label: 'huge', value: `0:${HUGE_INTEGER}` },
        { label: 'non-finite', value: 'Infinity:0' },
        { label: 'no such layer', value: '99:0' },
      ];
    case 'seed-text':
      return [{ label: 'empty', value: '' }];
    case 'layer':
    case 'graph-node':
      return [
        { label: 'empty', value: '' },
        { label: 'unknown', value: 'no_such_layer' },
        { label: '..', value: '..' },
        { label: '300 characters', value: LONG_NAME },
      ];
    case 'range':
      return [
        { label: 'empty', value: '' },
        { label: 'one number', value: '1' },
        { label: 'reversed', value: '1,0' },
        { label: 'wrong type', value: 'a,b' },
        { label: 'non-finite', value: '0,Infinity' },
        { label: 'three numbers', value: '0,1,2' },
      ];
    case 'int-list':
      return [
        { label: 'empty', value: '' },
        { label: 'wrong type', value: 'a' },
        { label: 'negative', value: '-1' },
        { label: 'fractional', value: '1.5' },
        { label: 'huge', value: HUGE_INTEGER },
      ];
    case 'class':
      return [
        { label: 'empty', value: '' },
        { label: 'negative', value: '-1' },
        { label: 'past the outputs', value: '99' },
        { label: 'huge', value: HUGE_INTEGER },
        { label: 'fractional', value: '1.5' },
        { label: 'unknown name', value: 'no-such-class' },
      ];
  }
}

/** Every leaf command (no subcommands) with its path, `help` left out. */
export function leafCommands(program: Command = commandTree()): { path: string; command: Command }[] {
  const leaves: { path: string; command: Command }[] = [];
  const walk = (command: Command, path: readonly string[]) => {
    const subs = command.commands.filter((c) => c.name() !== 'help');
    if (subs.length === 0 && path.length > 0) leaves.push({ path: path.join(' '), command });
    for (const sub of subs) walk(sub, [...path, sub.name()]);
  };
  walk(program, []);
  return leaves;
}

/** The slots of a command: its options, then its arguments. */
export function slotsOf(path: string, command: Command): Slot[] {
  return [
    ...command.options.map((option) => ({
      command: path,
      name: option.long ?? option.flags,
      kind: kindOf(
        path,
        option.long ?? option.flags,
        option.flags,
        option.description,
        command.description(),
      ),
      option,
      required: option.mandatory,
    })),
    ...command.registeredArguments.map((argument) => {
      const name = `<${argument.name()}>`;
      return {
        command: path,
        name,
        kind: kindOf(path, name, name, argument.description, command.description()),
        required: argument.required,
      };
    }),
  ];
}

/** Why a command's option that a program flag shadows is accepted with no value. */
const SHADOWED =
  "commander reads an option of the program's flag's name given no value as that flag (a command's own `--json` would be the program's)";

/** A baseline's options as arguments: `--name=value`, or `--flag`. */
const optionArgv = (options: Baseline['options']): string[] =>
  Object.entries(options).flatMap(([name, value]) => (value === true ? [name] : [`${name}=${value}`]));

/**
 * Every case: per leaf command an unknown option and an excess argument; per slot, a missing
 * required one, a value-taking option given no value, a flag given a value, and the bad values
 * of its kind; the global options on `registry list`. `baselines` supplies the valid rest.
 */
export function generateCases(f: Fixtures, baselines: BaselineTable): BadInputCase[] {
  const program = commandTree();
  const cases: BadInputCase[] = [];
  const missingBaselines = leafCommands(program)
    .map((l) => l.path)
    .filter((p) => !baselines[p]);
  if (missingBaselines.length > 0)
    throw new Error(`bad-input suite: no baseline for ${missingBaselines.join(', ')}; add one to the spec`);

  // The program's flags (`--json`, `--create`): a command's own option of that name, given no value, is the flag.
  const globalFlags = new Set(program.options.filter((o) => !o.required && !o.optional).map((o) => o.long));
  for (const { path, command } of leafCommands(program)) {
    const base = baselines[path]!;
    const words = path.split(' ');
    const argv = (options: Baseline['options'], args: readonly string[], tail: readonly string[] = []) => [
      ...words,
      ...optionArgv(options),
      ...tail,
      ...(args.length > 0 ? ['--', ...args] : []),
    ];
    const add = (slot: string, label: string, args: string[], more: Partial<BadValue> = {}) =>
      cases.push({
        command: path,
        slot,
        label,
        argv: args,
        ...(more.accepted ? { accepted: more.accepted } : {}),
        ...(more.message ? { message: more.message } : {}),
      });

    add('(command)', 'an unknown option', argv(base.options, base.args, ['--no-such-option=1']));
    add('(command)', 'an excess argument', argv(base.options, [...base.args, 'excess']));
    for (const slot of slotsOf(path, command)) {
      const values = badValues(slot.kind, f);
      if (slot.option) {
        const name = slot.name;
        const { [name]: _, ...others } = base.options;
        if (slot.required) add(name, 'missing', argv(others, base.args));
        if (slot.kind === 'flag') add(name, 'a flag given a value', argv(others, base.args, [`${name}=yes`]));
        else
          add(name, 'no value', [...argv(others, []), name], {
            ...(globalFlags.has(name) ? { accepted: SHADOWED } : {}),
          });
        for (const v of values) add(name, v.label, argv(others, base.args, [`${name}=${v.value}`]), v);
      } else {
        const index = command.registeredArguments.findIndex((a) => `<${a.name()}>` === slot.name);
        const args = (value?: string) => [
          ...base.args.slice(0, index),
          ...(value === undefined ? [] : [value]),
          ...base.args.slice(index + 1),
        ];
        if (slot.required) add(slot.name, 'missing', argv(base.options, args()));
        for (const v of values) add(slot.name, v.label, argv(base.options, args(v.value)), v);
      }
    }
  }

  // The program's own options, on a command that reads the registry.
  for (const option of program.options) {
    const name = option.long ?? option.flags;
    const kind = kindOf('', name, option.flags, option.description);
    const on = ['registry', 'list'];
    const push = (label: string, globals: Record<string, string | true>, tail: string[] = []) =>
      cases.push({ command: '(global)', slot: name, label, argv: [...on, ...tail], globals });
    if (kind === 'flag') push('a flag given a value', { [name]: `yes` });
    else {
      push('no value', {}, [name]);
      for (const v of badValues(kind, f)) push(v.label, { [name]: v.value });
    }
  }
  // The first bad value of every slot once more with --json.
  const firsts = new Map<string, BadInputCase>();
  for (const c of cases)
    if (!c.accepted && !c.globals && !firsts.has(`${c.command} ${c.slot}`))
      firsts.set(`${c.command} ${c.slot}`, c);
  return [...cases, ...[...firsts.values()].map((c) => ({ ...c, label: `${c.label} (--json)`, json: true }))];
}
