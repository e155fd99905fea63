import type { Argument, Command, Option } from 'commander';

/**
 * Shell completion generated from the commander tree: every command and nested subcommand, the
 * long options of each (its own and those of the commands above it, which commander accepts
 * after a subcommand too), the choices of an option value or argument, and file or folder names
 * where a value is a path. The script is static — the whole tree is written into it — so
 * completing never starts node. Imports only commander's types: building the script must not
 * load the libraries.
 */

export type CompletionShell = 'bash' | 'zsh';

export const COMPLETION_SHELLS: readonly CompletionShell[] = ['bash', 'zsh'];

/**
 * How an option's value or an argument completes: from a fixed list, as a file or folder name,
 * or not at all (a registry reference, a number: nothing the script can know).
 */
export type ValueCompletion =
  | { readonly kind: 'choices'; readonly choices: readonly string[] }
  | { readonly kind: 'file' }
  | { readonly kind: 'dir' }
  | { readonly kind: 'none' };

export interface OptionCompletion {
  /** `--name`. */
  readonly long: string;
  /** Undefined: a flag (no value). */
  readonly value?: ValueCompletion;
  /** `<path...>`: the words after it are its values until the next option. */
  readonly variadic: boolean;
}

export interface CommandCompletion {
  /** The command names from the program down, without the program's: `[]`, `['registry', 'push']`. */
  readonly path: readonly string[];
  /** Subcommand names (commander's implicit `help` included where it has one). */
  readonly subcommands: readonly string[];
  /** Aliases of subcommands, to their names. */
  readonly aliases: Readonly<Record<string, string>>;
  /** The options defined on this command, `--help` included (not those of the commands above). */
  readonly options: readonly OptionCompletion[];
  /** The positional arguments, in order. */
  readonly arguments: readonly ValueCompletion[];
  /** Is the last argument variadic (`<refs...>`)? */
  readonly variadicArguments: boolean;
}

/** The `completion` command's description (its help's first line). */
export const COMPLETION_DESCRIPTION =
  'print a shell completion script for bash or zsh, made from the command definitions (static: completing never runs node)';

/**
 * How to install the script: for `transplant completion --help` (commander's
 * `.addHelpText('after', COMPLETION_INSTALL)`) and docs/cli.md.
 */
export const COMPLETION_INSTALL = `
Install (and again after upgrading transplant: the script is static):
  bash 4+, this shell only:
    source <(transplant completion bash)
  bash, every new shell (with the bash-completion package; without it, put the line above in ~/.bashrc):
    mkdir -p ~/.local/share/bash-completion/completions
    transplant completion bash > ~/.local/share/bash-completion/completions/transplant
  zsh, every new shell (~/.zfunc must be on $fpath before compinit runs in ~/.zshrc):
    mkdir -p ~/.zfunc && transplant completion zsh > ~/.zfunc/_transplant
    # in ~/.zshrc, before compinit: fpath=(~/.zfunc $fpath)
  zsh, this shell only (after compinit):
    source <(transplant completion zsh)
`;

/** Placeholder words that name a kind of value, never a literal one (`<k|name>`, `<layer|node>`). */
const PLACEHOLDER_WORDS = new Set([
  'n',
  'k',
  'i',
  'w',
  'ms',
  'id',
  'name',
  'names',
  'ref',
  'refs',
  'layer',
  'node',
  'value',
  'index',
  'text',
  'number',
  'count',
  'list',
  'file',
  'dir',
  'path',
]);
const FILE_WORDS = /^(?:file|files|path|paths|image|images|[\w-]+\.\w+|[\w-]+-file)$/;
const DIR_WORDS = /^(?:dir|dirs|directory|folder|location|[\w-]+-(?:dir|folder|directory))$/;
const TOKEN = /^[A-Za-z0-9][\w+.-]*$/;

/** What a placeholder (`file`, `bd|kd|ol`, `path...`) and a description say the value is. */
function valueOf(
  placeholder: string,
  choices: readonly string[] | undefined,
  description: string,
): ValueCompletion {
  if (choices && choices.length > 0) return { kind: 'choices', choices };
  const name = placeholder.replace(/\.\.\.$/, '').trim();
  const alternatives = name.split('|');
  if (
    alternatives.length > 1 &&
    alternatives.every((a) => TOKEN.test(a) && !PLACEHOLDER_WORDS.has(a.toLowerCase()))
  ) {
    return { kind: 'choices', choices: alternatives };
  }
  if (FILE_WORDS.test(name)) return { kind: 'file' };
  if (DIR_WORDS.test(name)) return { kind: 'dir' };
  // A description that lists the values: `tensorflow | wasm+onednn | wasm | cpu (default …)`, or
  // ends with them: `…: align, fit, original`, `… (bird, cat, background)`.
  const listed =
    /(?:^|[\s:(])([A-Za-z0-9][\w+.-]*(?: \| [A-Za-z0-9][\w+.-]*)+)(?=$|[\s),;])/.exec(description)?.[1] ??
    /: ([A-Za-z0-9][\w+.-]*(?:, [A-Za-z0-9][\w+.-]*)+)$/.exec(description)?.[1] ??
    /\(([A-Za-z0-9][\w+.-]*(?:, [A-Za-z0-9][\w+.-]*)+)\)$/.exec(description)?.[1];
  if (listed) return { kind: 'choices', choices: listed.split(/ \| |, /) };
  return { kind: 'none' };
}

function optionOf(option: Option): OptionCompletion | undefined {
  if (!option.long) return undefined;
  // Only a required value (`<x>`) is taken from the next word; an optional one (`[x]`) is
  // given as `--opt=x`, so for the walk over the words such an option is a flag.
  const placeholder = option.required ? /<(.*)>/.exec(option.flags)?.[1] : undefined;
  if (placeholder === undefined) return { long: option.long, variadic: false };
  return {
    long: option.long,
    value: valueOf(placeholder, option.argChoices, option.description),
    variadic: option.variadic,
  };
}

function argumentOf(argument: Argument): ValueCompletion {
  return valueOf(argument.name(), argument.argChoices, argument.description);
}

/** The completion data of every command in the tree, the program first, parents before children. */
export function describeCompletions(program: Command): CommandCompletion[] {
  const out: CommandCompletion[] = [];
  const visit = (command: Command, path: readonly string[]): void => {
    const help = command.createHelp();
    const subcommands = help.visibleCommands(command);
    const aliases: Record<string, string> = {};
    for (const sub of subcommands) for (const alias of sub.aliases()) aliases[alias] = sub.name();
    const options = help
      .visibleOptions(command)
      .map(optionOf)
      .filter((o): o is OptionCompletion => o !== undefined);
    out.push({
      path,
      subcommands: subcommands.map((s) => s.name()),
      aliases,
      options,
      arguments: command.registeredArguments.map(argumentOf),
      variadicArguments: command.registeredArguments.at(-1)?.variadic ?? false,
    });
    for (const sub of subcommands) {
      if (command.commands.includes(sub)) visit(sub, [...path, sub.name()]);
      else {
        // Commander's implicit `help [command]`: its argument is one of its siblings.
        const siblings = subcommands.filter((s) => s !== sub).map((s) => s.name());
        out.push({
          path: [...path, sub.name()],
          subcommands: [],
          aliases: {},
          options: [],
          arguments: [{ kind: 'choices', choices: siblings }],
          variadicArguments: false,
        });
      }
    }
  };
  visit(program, []);
  return out;
}

/** A word in single quotes, for both shells. */
function sq(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** The value kind as the script's data functions encode it. */
function encode(value: ValueCompletion | undefined): string {
  if (value === undefined) return 'flag';
  if (value.kind === 'choices') return `c:${value.choices.join(',')}`;
  return value.kind;
}

function functionName(program: Command): string {
  return `_${program.name().replace(/[^A-Za-z0-9_]/g, '_')}`;
}

/**
 * The data functions both shells share (plain `case`, the same in bash and zsh):
 * `F_spec PATH` sets subs, opts, args, argsvar; `F_sub PATH WORD` sets sub to the subcommand's
 * path ('' when WORD is none); `F_value PATH --opt` sets kind (flag, none, file, dir or
 * c:a,b,…) and multi.
 */
function dataFunctions(program: Command, f: string): string {
  const commands = describeCompletions(program);
  const key = (path: readonly string[]) => path.join(' ');
  const byKey = new Map(commands.map((c) => [key(c.path), c]));
  const inherited = (path: readonly string[]): OptionCompletion[] => {
    const seen = new Set<string>();
    const all: OptionCompletion[] = [];
    for (let depth = path.length; depth >= 0; depth--) {
      const command = byKey.get(key(path.slice(0, depth)));
      for (const option of command?.options ?? []) {
        // --help once, from the command itself; --version only on the program.
        if (depth < path.length && (option.long === '--help' || option.long === '--version')) continue;
        if (!seen.has(option.long)) all.push(option);
        seen.add(option.long);
      }
    }
    return all;
  };

  const spec = commands.map((c) => {
    const fields = [
      `subs=${sq(c.subcommands.join(' '))}`,
      `opts=${sq(
        inherited(c.path)
          .map((o) => o.long)
          .join(' '),
      )}`,
      `args=${sq(c.arguments.map(encode).join(' '))}`,
      `argsvar=${c.variadicArguments ? 1 : 0}`,
    ];
    return `    ${sq(key(c.path))}) ${fields.join('; ')} ;;`;
  });

  const sub = commands.flatMap((c) => {
    const names: [string, string][] = [
      ...c.subcommands.map((s): [string, string] => [s, s]),
      ...Object.entries(c.aliases),
    ];
    return names.map(
      ([word, name]) => `    ${sq(`${key(c.path)}|${word}`)}) sub=${sq(key([...c.path, name]))} ;;`,
    );
  });

  // An option applies to its command and every command below it: deepest definitions first.
  const value = [...commands]
    .sort((a, b) => b.path.length - a.path.length)
    .flatMap((c) =>
      c.options
        .filter((o) => o.value !== undefined)
        .map((o) => {
          const own = `${key(c.path)}|${o.long}`;
          const pattern =
            c.path.length === 0
              ? `*${sq(`|${o.long}`)}`
              : `${sq(own)}|${sq(`${key(c.path)} `)}*${sq(`|${o.long}`)}`;
          return `    ${pattern}) kind=${sq(encode(o.value))}; multi=${o.variadic ? 1 : 0} ;;`;
        }),
    );

  return `${f}_spec() {
  subs=''; opts=''; args=''; argsvar=0
  case "$1" in
${spec.join('\n')}
  esac
}

${f}_sub() {
  sub=''
  case "$1|$2" in
${sub.join('\n')}
  esac
}

${f}_value() {
  kind=flag; multi=0
  case "$1|$2" in
${value.join('\n')}
  esac
}`;
}

/**
 * The walk over the words before the cursor, the same in both shells apart from how the words
 * are read: finds the command path, the option whose value the cursor is on (pending), the
 * variadic option still taking values (multiopt) and how many operands the command has (n).
 */
function walk(f: string, word: (index: string) => string, first: string, last: string): string {
  return `  for ((i = ${first}; i < ${last}; i++)); do
    w=${word('i')}
    if [[ -n $pending ]]; then pending=''; continue; fi
    if ((dd == 0)); then
      case $w in
        --) dd=1; multiopt=''; continue ;;
        --*=*) multiopt=''; continue ;;
        -?*)
          ${f}_value "$cpath" "$w"; multiopt=''
          if [[ $kind != flag ]]; then pending=$w; ((multi)) && multiopt=$w; fi
          continue ;;
      esac
      [[ -n $multiopt ]] && continue
    fi
    ${f}_sub "$cpath" "$w"
    if ((dd == 0)) && [[ -n $sub ]]; then cpath=$sub; n=0; else n=$((n + 1)); fi
  done`;
}

function bashScript(program: Command): string {
  const f = functionName(program);
  const name = program.name();
  return `# bash completion for ${name}, generated by \`${name} completion bash\` from its command definitions.
# Static: completing runs no node. Regenerate after upgrading ${name}.

${dataFunctions(program, `_${f}`)}

# Completes one value: $1 the kind (none, file, dir, c:a,b,…), $2 the text typed so far.
_${f}_complete_value() {
  case $1 in
    c:*) set -- "\${1#c:}" "$2"; COMPREPLY=($(compgen -W "\${1//,/ }" -- "$2")) ;;
    file) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- "$2")) ;;
    dir) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -d -- "$2")) ;;
    *) COMPREPLY=() ;;
  esac
}

${f}() {
  local IFS=$' \\t\\n' cpath='' w i n=0 pending='' multiopt='' dd=0 cur
  local subs opts args argsvar sub kind multi
  local -a ws=() list
  COMPREPLY=()
  # Bash splits \`--opt=value\` at '=' (COMP_WORDBREAKS): join the pieces again.
  for ((i = 0; i <= COMP_CWORD && i < \${#COMP_WORDS[@]}; i++)); do
    w=\${COMP_WORDS[i]}
    if ((\${#ws[@]} > 0)) && { [[ $w == = && \${ws[\${#ws[@]}-1]} == --* && \${ws[\${#ws[@]}-1]} != *=* ]] || [[ \${ws[\${#ws[@]}-1]} == --*= ]]; }; then
      ws[\${#ws[@]}-1]+=$w
    else
      ws+=("$w")
    fi
  done
  ((COMP_CWORD >= \${#COMP_WORDS[@]})) && ws+=('')
  cur=\${ws[\${#ws[@]}-1]}
${walk(`_${f}`, (i) => `\${ws[${i}]}`, '1', '${#ws[@]} - 1')}
  _${f}_spec "$cpath"
  if [[ -n $pending ]]; then
    _${f}_value "$cpath" "$pending"
    _${f}_complete_value "$kind" "$cur"
  elif ((dd == 0)) && [[ $cur == --*=* ]]; then
    _${f}_value "$cpath" "\${cur%%=*}"
    [[ $kind == flag ]] && return 0
    _${f}_complete_value "$kind" "\${cur#*=}"
    # Where '=' does not split words, the reply replaces the whole \`--opt=value\`.
    if [[ $COMP_WORDBREAKS != *=* ]]; then COMPREPLY=("\${COMPREPLY[@]/#/\${cur%%=*}=}"); fi
  elif ((dd == 0)) && [[ -n $multiopt && $cur != -* ]]; then
    _${f}_value "$cpath" "$multiopt"
    _${f}_complete_value "$kind" "$cur"
  elif ((dd == 0)) && [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
  elif [[ -n $subs ]]; then
    COMPREPLY=($(compgen -W "$subs" -- "$cur"))
  else
    list=($args)
    if ((n < \${#list[@]})); then
      _${f}_complete_value "\${list[n]}" "$cur"
    elif ((argsvar && \${#list[@]} > 0)); then
      _${f}_complete_value "\${list[\${#list[@]}-1]}" "$cur"
    elif ((dd == 0)); then
      COMPREPLY=($(compgen -W "$opts" -- "$cur"))
    fi
  fi
  return 0
}

complete -F ${f} ${sq(name)}
`;
}

function zshScript(program: Command): string {
  const f = functionName(program);
  const name = program.name();
  return `#compdef ${name}
# zsh completion for ${name}, generated by \`${name} completion zsh\` from its command definitions.
# Static: completing runs no node. Regenerate after upgrading ${name}.

${dataFunctions(program, `_${f}`)}

# Completes one value: $1 the kind (none, file, dir, c:a,b,…).
_${f}_complete_value() {
  case $1 in
    c:*) compadd -- \${(s:,:)\${1#c:}} ;;
    file) _files ;;
    dir) _files -/ ;;
  esac
}

${f}() {
  local cpath='' w i n=0 pending='' multiopt='' dd=0 cur=\${words[CURRENT]}
  local subs opts args argsvar sub kind multi
  local -a list
${walk(`_${f}`, (i) => `\${words[${i}]}`, '2', 'CURRENT')}
  _${f}_spec "$cpath"
  if [[ -n $pending ]]; then
    _${f}_value "$cpath" "$pending"
    _${f}_complete_value "$kind"
  elif ((dd == 0)) && [[ $cur == --*=* ]]; then
    _${f}_value "$cpath" "\${cur%%=*}"
    [[ $kind == flag ]] && return 1
    compset -P '*='
    _${f}_complete_value "$kind"
  elif ((dd == 0)) && [[ -n $multiopt && $cur != -* ]]; then
    _${f}_value "$cpath" "$multiopt"
    _${f}_complete_value "$kind"
  elif ((dd == 0)) && [[ $cur == -* ]]; then
    compadd -- \${=opts}
  elif [[ -n $subs ]]; then
    compadd -- \${=subs}
  else
    list=(\${=args})
    if ((n < \${#list})); then
      _${f}_complete_value "\${list[n + 1]}"
    elif ((argsvar && \${#list} > 0)); then
      _${f}_complete_value "\${list[-1]}"
    elif ((dd == 0)); then
      compadd -- \${=opts}
    fi
  fi
}

if [[ $funcstack[1] == ${f} ]]; then
  # Autoloaded from $fpath (the file _${name}): complete now.
  ${f} "$@"
else
  # Sourced: register.
  compdef ${f} ${sq(name)}
fi
`;
}

/** The completion script for `shell`, from `program`'s command definitions. */
export function completionScript(program: Command, shell: CompletionShell): string {
  return shell === 'bash' ? bashScript(program) : zshScript(program);
}
