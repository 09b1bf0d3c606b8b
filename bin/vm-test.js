#!/usr/bin/env node
// The vm-test command: TypeScript loaded through tsx, no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../orchestrator/cli.ts');
process.exitCode = await main(process.argv.slice(2));
