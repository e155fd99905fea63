import type { Command } from 'commander';
import { commandPath } from './commands/parse-options';

/**
 * Examples for every command's `--help`, by command path (a group's show one of each kind of
 * its commands). They run from a project folder on the default registry, given what they name
 * (an image, a `./my-registry` made by `registry init`, a generic network made by `generic
 * create`); a spec parses every one against the command tree and runs its option checks, so an
 * example that names an option a command lacks, or leaves out a required one, fails the tests.
 */
export const EXAMPLES: Readonly<Record<string, readonly string[]>> = {
  doctor: ['transplant doctor', 'transplant doctor --json --backend cpu'],
  registry: [
    'transplant registry list',
    'transplant registry info cat-seg',
    'transplant --registry ./my-registry registry init',
  ],
  generic: [
    'transplant generic create --name animals --from bird-cls,bird-seg',
    'transplant generic show animals',
    'transplant add-category --generic animals --from cat-seg',
  ],
  interpret: ['transplant interpret metrics --net cat-cls --layer block2_conv1'],
  graph: [
    'transplant graph mine --net bird-cls --out bird.graph',
    'transplant graph localize --net bird-cls --graph bird.graph',
  ],
  aog: [
    'transplant aog learn --net bird-cls --graph bird.graph --shots 3 --out bird.aog',
    'transplant aog localize --net bird-cls --graph bird.graph --aog bird.aog --image test:0',
  ],
  data: ['transplant data preview --category bird --out birds.png'],
  'registry init': ['transplant --registry ./my-registry registry init'],
  'registry publish': ['transplant --registry ./my-registry --create registry publish ./modules/cat-vgg'],
  'registry resolve': ['transplant registry resolve bird-cls@^1 cat-seg --lockfile transplant.lock.json'],
  'registry list': [
    'transplant registry list',
    'transplant --registry oci://localhost:5000/zoo registry list',
  ],
  'registry info': ['transplant registry info cat-seg'],
  'registry yank': ['transplant --registry ./my-registry registry yank cat-vgg@1.0.1'],
  'registry unyank': ['transplant --registry ./my-registry registry unyank cat-vgg@1.0.1'],
  'registry verify': ['transplant registry verify'],
  hub: ['transplant hub', 'transplant --registry oci://localhost:5000/zoo hub --port 8081 --host 127.0.0.1'],
  'registry gc': ['transplant --registry ./my-registry registry gc --grace-ms 0'],
  'registry push': ['transplant registry push cat-seg@1.0.0 --to ./my-registry'],
  'registry pull': [
    'transplant --registry ./my-registry --create registry pull bird-cls --from oci://localhost:5000/zoo',
  ],
  import: [
    'transplant import --model ./mobilenet/model.json --split block_13_expand_relu --category bird --task cls --name mobilenet --out ./modules',
  ],
  transplant: [
    'transplant transplant --from bird-cls --to cat-seg',
    'transplant transplant --from horse-seg --to cow-seg --method bd --samples 10 --steps 300 --no-publish',
  ],
  'generic create': ['transplant generic create --name animals --from bird-cls,bird-seg'],
  'generic show': ['transplant generic show animals --png animals.png'],
  'generic run': [
    'transplant generic run animals --category cat-seg-features --task bird-seg-head --image cat.png --out cat-mask.png',
  ],
  'add-category': ['transplant add-category --generic animals --from cat-seg --steps 300'],
  'add-task': ['transplant add-task --generic animals --from cat-cls'],
  'remove-category': ['transplant remove-category --generic animals --category cat-seg-features'],
  'interpret metrics': [
    'transplant interpret metrics --net cat-cls --layer block2_conv1 --images 100 --png cat-heatmaps.png',
  ],
  'graph mine': ['transplant graph mine --net bird-cls --out bird.graph --html ./bird-graph'],
  'graph nodes': [
    'transplant graph nodes --net bird-cls --graph bird.graph --nodes 0:12,1:40 --png nodes.png',
  ],
  visualize: [
    'transplant visualize --net bird-cls --layer block2_conv1 --filter 0-7',
    'transplant visualize --net bird-cls --graph bird.graph --node 0:12,1:40 --out reports/bird-nodes',
    'transplant visualize --net bird-cls --layer block2_conv1 --group head,torso --json',
  ],
  'graph inspect': ['transplant graph inspect --graph bird.graph'],
  'graph localize': [
    'transplant graph localize --net bird-cls --graph bird.graph --shots 3,5 --png parts.png',
  ],
  'aog learn': [
    'transplant aog learn --net bird-cls --graph bird.graph --shots 3 --seed 1 --out bird.aog --html ./bird-graph',
    'transplant aog learn --net bird-cls --shots 2 --attach',
  ],
  'aog inspect': ['transplant aog inspect --aog bird.aog', 'transplant aog inspect --net bird-cls --json'],
  'aog localize': [
    'transplant aog localize --net bird-cls --graph bird.graph --aog bird.aog --image bird.png --png bird-parts.png',
  ],
  explain: [
    'transplant explain --net bird-cls',
    'transplant explain --net bird-cls --image bird.png --steps 400 --out ./reports/explain-bird',
    'transplant explain --net bird-cls --attach --replace',
  ],
  predict: [
    'transplant predict --net cat-seg --image cat.png --out cat-mask.png',
    'transplant predict --net bird-cls --image bird.png --json',
  ],
  compose: [
    'transplant --registry ./my-registry compose --name cat-seg-again --link cat-seg-features:cat-seg-head --version 1.0.0',
  ],
  export: ['transplant export --net cat-seg --out ./cat-seg-layers'],
  plugins: ['transplant plugins', 'transplant plugins --json'],
  'data preview': ['transplant data preview --category bird --n 16 --out birds.png'],
  completion: ['transplant completion bash', 'transplant completion zsh'],
  'data inspect': ['transplant data inspect --cub ./CUB_200_2011 --n 16 --out cub.png'],
};

/** What the program's `--help` ends with: the exit codes, the environment, the docs. */
export const PROGRAM_HELP_FOOTER = `
Exit codes:
  0  done
  1  a coded error (the line starts "error E_…" and says what to do; with --json: {"error":{code,message}})
  2  a usage error: an unknown command or option, a missing or malformed value

Environment:
  TRANSPLANT_BACKEND    the tensor back end (as --backend)
  TRANSPLANT_REGISTRY   the registry (as --registry)
  TRANSPLANT_RUNS_DIR   where long runs keep checkpoints (default ~/.local/state/transplant/runs)
  TRANSPLANT_DEBUG=1    print the stack after an error
  NO_COLOR              no colours; progress is a bar only on a terminal, periodic lines otherwise

Examples:
  transplant transplant --from bird-cls --to cat-seg
  transplant predict --net cat-seg --image cat.png
  transplant registry list --json
  transplant help transplant
`;

/** Adds each command's {@link EXAMPLES} to its `--help`, and the footer to the program's. */
export function addExamples(program: Command): void {
  program.addHelpText('after', PROGRAM_HELP_FOOTER);
  const visit = (command: Command) => {
    const examples = EXAMPLES[commandPath(command)];
    if (examples)
      command.addHelpText(
        'after',
        `\nExample${examples.length > 1 ? 's' : ''}:\n${examples.map((e) => `  $ ${e}`).join('\n')}\n`,
      );
    for (const sub of command.commands) visit(sub);
  };
  for (const sub of program.commands) visit(sub);
}
