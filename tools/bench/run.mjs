#!/usr/bin/env node
// Runs one of the TypeScript benchmarks beside this file through tsx, with the workspace's path
// aliases, in-process:  node tools/bench/run.mjs <name> [options]   (name: weekly-average,
// ingest-memory, csv-reader). It first says what the bench will cost (budget.mjs: size, run time,
// disk) and refuses one the disk cannot hold; --help prints its description. tools/bench/README.md lists them.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { announce } from './budget.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const [name, ...rest] = process.argv.slice(2);
const script = join(here, `${name}.ts`);
if (!name || !existsSync(script)) {
  const known = readdirSync(here).filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3));
  console.error(`usage: node tools/bench/run.mjs <${known.join('|')}> [options]`);
  process.exit(64);
}
if (rest.includes('--help') || rest.includes('-h')) {
  // The bench's own description: the doc comment its file opens with (options, what it measures).
  const doc = readFileSync(script, 'utf8').match(/^\/\*\*\n([\s\S]*?)\n \*\//);
  console.log(doc ? doc[1].replace(/^ \* ?/gm, '') : `no description at the top of ${script}`);
  process.exit(0);
}
process.env.TSX_TSCONFIG_PATH ??= join(here, '..', '..', 'tsconfig.json');
const stateAt = rest.indexOf('--state');
process.argv = [process.argv[0], script, ...announce(name, rest, stateAt >= 0 ? rest[stateAt + 1] : undefined)];
const require = createRequire(import.meta.url);
require('tsx/cjs/api').register();
try {
  require(script);
} catch (e) {
  // An option the bench does not take (its parseArgs, at the top of the file): named, not a stack trace.
  if (typeof e?.code === 'string' && e.code.startsWith('ERR_PARSE_ARGS')) {
    console.error(`${name}: ${e.message} (node tools/bench/run.mjs ${name} --help lists its options)`);
    process.exit(64);
  }
  throw e;
}
