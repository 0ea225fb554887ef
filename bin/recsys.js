#!/usr/bin/env node
// Runs the TypeScript CLI directly through tsx, so `recsys` works from a clone without a build step.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/index.ts');
