/**
 * `@transplant/core/refs`: module names, references and exact versions (`cat-seg@^1.2`,
 * `1.0.0`), with semver and the coded errors and nothing heavier: for a command line that
 * checks them when a command runs, without loading the tensor library.
 */
export { isExactVersion, parseModuleRef, type ModuleRef } from './contracts/module-ref';
export { isModuleName } from './contracts/names';
