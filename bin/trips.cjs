#!/usr/bin/env node
// `npx trips …`: runs the trips-cli app from its TypeScript source through tsx, so it works right
// after `npm ci` with no build step. Containers run the esbuild bundles instead (dist/apps/*/main.js).
const { spawnSync } = require('node:child_process');
const { join } = require('node:path');
const { pathToFileURL } = require('node:url');

const root = join(__dirname, '..');
const result = spawnSync(process.execPath, ['--disable-warning=NodeVersionSupportWarning', '--import', pathToFileURL(require.resolve('tsx')).href, join(root, 'apps/trips-cli/src/main.ts'), ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { ...process.env, TSX_TSCONFIG_PATH: join(root, 'tsconfig.json') },
});
if (result.error) {
  console.error(`trips: could not start: ${result.error.message}`);
  process.exit(1);
}
process.exit(result.status ?? 1);
