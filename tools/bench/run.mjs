#!/usr/bin/env node
// Runs one of the TypeScript benchmarks beside this file through tsx, with the workspace's path
// aliases, in-process:  node tools/bench/run.mjs <name> [options]   (name: weekly-average,
// ingest-memory, csv-reader; each prints what it measures and its options with --help).
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const here = dirname(fileURLToPath(import.meta.url));
const [name, ...rest] = process.argv.slice(2);
const script = join(here, `${name}.ts`);
if (!name || !existsSync(script)) {
  const known = readdirSync(here).filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3));
  console.error(`usage: node tools/bench/run.mjs <${known.join('|')}> [options]`);
  process.exit(64);
}
process.env.TSX_TSCONFIG_PATH ??= join(here, '..', '..', 'tsconfig.json');
process.argv = [process.argv[0], script, ...rest];
const require = createRequire(import.meta.url);
require('tsx/cjs/api').register();
require(script);
