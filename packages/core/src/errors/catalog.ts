/**
 * The one catalog of coded errors. Every error the platform raises on purpose has a code
 * from this table; its `hint` says what the user should do next. Codes are never reused
 * for another meaning.
 */
export const ERROR_CATALOG = {
  E_BACKEND_UNAVAILABLE: {
    title: 'the requested tensor back end cannot be used',
    hint: 'install the package it needs, or choose another with --backend / TRANSPLANT_BACKEND (tensorflow | wasm+onednn | wasm | cpu)',
  },
  E_BACKEND_UNKNOWN: {
    title: 'unknown tensor back end',
    hint: 'use one of: tensorflow, wasm+onednn, wasm, cpu',
  },
  E_KERNEL_REGISTRATION: {
    title: 'a training kernel could not be registered on the back end',
    hint: 'check that @tensorflow/tfjs-core and its back ends are the same version (npm ls @tensorflow/tfjs-core)',
  },
  E_MANIFEST_INVALID: {
    title: 'the module manifest is not valid',
    hint: 'fix every listed field; unknown fields are refused so that typos are not silently ignored',
  },
  E_MODULE_REF_INVALID: {
    title: 'not a valid module reference',
    hint: 'write NAME or NAME@RANGE, e.g. cat-cls, cat-cls@^1.2, cat-cls@1.0.0, cat-cls@latest; names are lower-case letters, digits and single dashes',
  },
  E_ARTIFACT_CORRUPT: {
    title: 'the weights blob is truncated or corrupt',
    hint: 'fetch the module again; if it persists, run `transplant registry verify` and republish the module under a new version',
  },
  E_ARTIFACT_FOREIGN: {
    title: 'the blob is not a Transplant weights artifact',
    hint: 'only blobs written by Transplant can be decoded here; check the path or digest you passed',
  },
  E_ARTIFACT_VERSION: {
    title: 'the weights artifact was written by a newer format version',
    hint: 'upgrade Transplant to read it',
  },
  E_ARTIFACT_INVALID_TENSOR: {
    title: 'a tensor cannot be stored in a weights artifact',
    hint: 'use float32, int32 or bool tensors with unique, non-empty names and finite integer shapes',
  },
  E_DIGEST_MISMATCH: {
    title: 'the content does not match its sha256 digest',
    hint: 'the blob was changed or damaged after publishing; fetch it again or run `transplant registry verify`',
  },
  E_VERSION_EXISTS: {
    title: 'this module version is already published',
    hint: 'a published version never changes: bump the version (semver) and publish again',
  },
  E_REGISTRY_LOCATION_INVALID: {
    title: 'not a valid registry location',
    hint: 'pass a folder path or oci://host[:port]/namespace (--registry / TRANSPLANT_REGISTRY); credentials go in TRANSPLANT_REGISTRY_USERNAME / TRANSPLANT_REGISTRY_PASSWORD or the credentials file, never in the address',
  },
  E_REGISTRY_NOT_FOUND: {
    title: 'no registry at this location',
    hint: 'check the path (--registry / TRANSPLANT_REGISTRY); to make a new registry there, run `transplant registry init --registry DIR`, or publish with --create',
  },
  E_REGISTRY_READ_ONLY: {
    title: 'that part of the registry is read-only',
    hint: 'the model zoo that an installed transplant reads through to is never changed: publish new versions (they go to the writable registry above it), or pass --registry DIR for a registry of your own',
  },
  E_MODULE_NOT_FOUND: {
    title: 'no such module in the registry',
    hint: 'check the name with `transplant registry list`, or the registry with --registry / TRANSPLANT_REGISTRY',
  },
  E_VERSION_NOT_FOUND: {
    title: 'no published version matches',
    hint: 'run `transplant registry info NAME` to see the published versions and dist-tags (yanked versions match only an exact pin)',
  },
  E_DEPENDENCY_MISSING: {
    title: 'modules this one depends on are not in the registry',
    hint: 'publish the listed modules (with exactly the pinned versions and digests) first',
  },
  E_REGISTRY_CORRUPT: {
    title: 'the registry holds damaged data',
    hint: 'run `transplant registry verify` to list every problem; damaged versions must be republished under new versions',
  },
  E_REGISTRY_UNREACHABLE: {
    title: 'the registry cannot be reached',
    hint: 'check the address and that the registry is running; with a lockfile and cached blobs, runs work offline',
  },
  E_REGISTRY_PROTOCOL: {
    title: 'the registry answered something unexpected',
    hint: 'check that the address is an OCI distribution registry (API v2) and that the namespace exists',
  },
  E_AUTH: {
    title: 'the registry refused the credentials',
    hint: 'set TRANSPLANT_REGISTRY_USERNAME and TRANSPLANT_REGISTRY_PASSWORD (or the credentials file) for this registry; credentials are never taken from the command line',
  },
  E_LOCK_TIMEOUT: {
    title: 'the registry index stayed locked',
    hint: 'another publish is running or was killed; retry — a lock left by a killed process expires by itself',
  },
  E_LOCKFILE_INVALID: {
    title: 'transplant.lock.json cannot be used',
    hint: 'fix or delete transplant.lock.json; it is rewritten by the next command that resolves modules',
  },
  E_DATA_MISSING_FILE: {
    title: 'a file that should be there is missing or cannot be read',
    hint: 'check the path: a module folder holds manifest.json and weights.bin as regular files inside it (no links out of it); a CUB-200-2011 folder holds images.txt, classes.txt, image_class_labels.txt, bounding_boxes.txt, train_test_split.txt, parts/parts.txt, parts/part_locs.txt and images/',
  },
  E_DATA_MALFORMED: {
    title: 'a line of the data set cannot be read',
    hint: 'fix or remove the named line; each file of the CUB layout has whitespace-separated fields with numeric ids',
  },
  E_DATA_ID_MISMATCH: {
    title: 'the data set files disagree about ids',
    hint: 'every image id must appear once in images.txt, image_class_labels.txt, bounding_boxes.txt and train_test_split.txt, and every class and part id must be declared',
  },
  E_IMAGE_UNREADABLE: {
    title: 'an image cannot be decoded',
    hint: 'pass a readable JPEG or PNG of at most 8192 × 8192 pixels (in a CUB data set: replace the file, or remove it from images.txt)',
  },
  E_OPTIONS_INVALID: {
    title: "the plugin's options are not valid",
    hint: 'fix every listed option; `transplant plugins` lists each family with its options and defaults',
  },
  E_PLUGIN_UNKNOWN: {
    title: 'no plugin is registered for this module family',
    hint: 'use one of the listed families, or register the plugin at the composition root',
  },
  E_PLUGIN_DUPLICATE: {
    title: 'a plugin with this family name is already registered',
    hint: 'give the plugin its own family name; a family is registered once',
  },
  E_PLUGIN_FAILED: {
    title: 'a module plugin failed',
    hint: "the plugin named in the message raised an error it gives no code (kept as the error's cause); check the module's options, and if they are valid report the failure to the plugin's authors with its family, version and options",
  },
  E_PORT_MISMATCH: {
    title: "one module's output port cannot feed the next module's input port",
    hint: 'connect modules whose ports agree, or put an adapter between them (e.g. `transplant transplant --from … --to …` learns one)',
  },
  E_WEIGHTS_MISMATCH: {
    title: "the weights blob does not fit the module's layers",
    hint: 'the blob was written for other options or another family version; republish the module from the network that trained it',
  },
  E_COMPOSITION_INVALID: {
    title: 'the network composition is not valid',
    hint: 'every link names a category and a task module of the network; an adapter goes between ports that differ',
  },
  E_IMPORT_SPLIT: {
    title: 'the model cannot be split at that layer',
    hint: 'choose a layer whose output is the only tensor crossing from the lower to the upper part (after a residual block, not inside one)',
  },
  E_IMPORT_MODEL: {
    title: 'the model cannot be imported',
    hint: 'pass a TensorFlow.js LayersModel (model.json and its float32 weight files, as tensorflowjs_converter or `transplant export` write them) with one input of fixed size, one output, each layer applied once, and supported layer classes',
  },
  E_DISTILL_UNSUPPORTED: {
    title: 'back-distillation cannot train this adapter',
    hint: 'use an adapter-conv adapter (1 or 3 stride-1 conv+ReLU layers): back-distillation writes its vector–Jacobian product as explicit ops',
  },
  E_TEACHER_MISSING: {
    title: 'no teacher is available for back-distillation',
    hint: 'pass --samples N for ordinary learning on annotated samples, or --teacher a network whose category module is the same (same digest)',
  },
  E_TEACHER_INVALID: {
    title: 'the named teacher cannot teach this adapter',
    hint: "a teacher must sit on the same category module as the student (same weights digest) and solve the student's task, or one a bridge maps to it",
  },
  E_FORGETTING: {
    title: 'a change to the generic network would alter what it already knew',
    hint: 'an existing link gave other outputs on the probe images after the change; nothing was published. Check that no frozen module is trained or run in training mode (batch statistics), then run the command again',
  },
  E_GRAPH_MISMATCH: {
    title: 'the explanatory graph was mined from another category module',
    hint: 'mine a graph for this category module with `transplant graph mine`, or use the network the graph was mined from',
  },
  E_AOG_MISMATCH: {
    title: 'the And-Or graph was learned on another explanatory graph',
    hint: 'learn an AOG on this graph with `transplant aog learn`, or use the graph (and network) it was learned on',
  },
  E_PROTOCOL: {
    title: 'the final-test images were asked for outside a final run',
    hint: 'decide on the dev split; only a final run (--final, docs/protocol.md) reads the final test, once',
  },
  E_CHECKPOINT_CORRUPT: {
    title: "a long run's checkpoint cannot be read",
    hint: 'start the run over with --restart, or delete the checkpoint folder the message names',
  },
  E_DISK_FULL: {
    title: 'the disk is full (or over quota)',
    hint: 'free space on the named device (`registry gc` removes unreferenced blobs) and run the command again: what was published before stays valid',
  },
  E_INVALID_ARGUMENT: {
    title: 'a value passed to the platform is not valid',
    hint: "fix the named value: on the command line it comes from an option (see the command's --help), in code from the function's arguments",
  },
  E_PORT_UNAVAILABLE: {
    title: 'the address or port cannot be listened on',
    hint: 'use --port 0 for any free port, or another --port / --host (ports below 1024 need privileges; --host must be an address of this machine)',
  },
  E_INTERNAL: {
    title: 'Transplant failed unexpectedly',
    hint: 'this is a bug: run the command again with TRANSPLANT_DEBUG=1 to see the stack, and report it with the command line and that output',
  },
  /** Only the CLI, where arguments are parsed, raises E_USAGE; libraries raise a domain code (E_INVALID_ARGUMENT at least). */
  E_USAGE: {
    title: 'the command was called wrongly',
    hint: 'run the command with --help to see its options',
  },
} as const satisfies Record<string, { readonly title: string; readonly hint: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOG;

export const ERROR_CODES = Object.keys(ERROR_CATALOG) as ErrorCode[];
