// nx loads executors with require(); the implementation is TypeScript, compiled on load by tsx.
require('tsx/cjs/api').register();
module.exports = require('./executor.ts');
