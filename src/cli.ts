#!/usr/bin/env node
// The `brain` command's entry point. A plain `brain` whose database a running `brain serve`
// serves bridges to it at once (src/daemon/fast-bridge.ts), loading nothing else; everything
// else is the command line in src/cli/main.ts.
import { bridgeIfServed } from './daemon/fast-bridge.js';

await bridgeIfServed(process.argv.slice(2), process.env);
await import('./cli/main.js');
