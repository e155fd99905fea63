#!/usr/bin/env node
// The packages ship TypeScript sources; tsx compiles them on load.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
