#!/usr/bin/env node
// Runs csv-reader.ts through tsx with the workspace's path aliases.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const r = spawnSync(process.execPath, ['--import', tsx, join(here, 'csv-reader.ts'), ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { ...process.env, TSX_TSCONFIG_PATH: join(root, 'tsconfig.json') },
});
process.exit(r.status ?? 1);
