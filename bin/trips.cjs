#!/usr/bin/env node
// `npx trips …`: runs the trips-cli app from its TypeScript source, in this process, through tsx's
// require hook, so it works right after `npm install` with no build step (containers run the
// esbuild bundles of the task apps instead, dist/apps/*/main.js). In this process rather than a
// child's: a signal or kill reaches the command itself, not a wrapper that would leave it running.
const { join } = require('node:path');

const root = join(__dirname, '..');
process.env.TSX_TSCONFIG_PATH ??= join(root, 'tsconfig.json');
// The SDK's notice that its 2027 releases need Node 22 is said once in the README, not on every run.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
require('tsx/cjs/api').register();
require(join(root, 'apps/trips-cli/src/main.ts'));
