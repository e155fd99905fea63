/**
 * `@transplant/registry/options`: the registry's plain values a command line names before any
 * work (the lockfile's default file name); loads no codec and no registry client.
 */

/** The lockfile `registry resolve` writes by default, next to the project that pins modules. */
export const LOCKFILE_NAME = 'transplant.lock.json';
