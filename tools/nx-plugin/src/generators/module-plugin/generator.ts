import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateFiles, names, type Tree } from '@nx/devkit';

export const MODULE_PLUGIN_KINDS = ['category', 'task', 'adapter'] as const;
export type ModulePluginKind = (typeof MODULE_PLUGIN_KINDS)[number];

/** The options of `nx g @transplant/nx-plugin:module-plugin`; schema.json is checked against this by a test. */
export interface ModulePluginGeneratorOptions {
  readonly name: string;
  readonly kind: ModulePluginKind;
  readonly description?: string;
}

const DESCRIPTIONS: Record<ModulePluginKind, string> = {
  category: 'category module: conv+ReLU+max-pool blocks from an image to a feature map',
  task: 'classification head: global average pooling and a dense layer to the logits',
  adapter: 'adapter: a 1×1 conv+ReLU between two feature maps of the same size and stride',
};

const NAME = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
const FILES = fileURLToPath(new URL('./files', import.meta.url));

/**
 * Scaffolds plugins/<name> like the shipped families: package.json, project.json (test, lint
 * and typecheck from the workspace's target defaults), tsconfig.json, src/index.ts, the plugin
 * object with its options DTO, and a spec. The plugin is not registered anywhere: the composition
 * root that wants it adds it to its PluginRegistry (BUILTIN_PLUGINS in @transplant/platform for the CLI and the tools).
 */
export default async function modulePluginGenerator(tree: Tree, options: ModulePluginGeneratorOptions) {
  if (!NAME.test(options.name)) throw new Error(`"${options.name}" is not a kebab-case family name`);
  if (!MODULE_PLUGIN_KINDS.includes(options.kind))
    throw new Error(`--kind must be one of ${MODULE_PLUGIN_KINDS.join(', ')}, not "${options.kind}"`);
  const root = `plugins/${options.name}`;
  if (tree.exists(root)) throw new Error(`${root} exists already`);
  const { className, propertyName } = names(options.name);
  const substitutions = {
    name: options.name,
    className,
    propertyName,
    description: options.description ?? DESCRIPTIONS[options.kind],
    tmpl: '',
  };
  generateFiles(tree, join(FILES, 'common'), root, substitutions);
  generateFiles(tree, join(FILES, options.kind), root, substitutions);
  return () => {
    process.stdout.write(
      `Generated ${root}. Run npm install (links @transplant/plugin-${options.name}), then register ${propertyName} where plugins are registered.\n`,
    );
  };
}
