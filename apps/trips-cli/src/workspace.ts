import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** The repository root: the nearest folder above this module holding nx.json. */
export function workspaceRoot(from = __dirname): string {
  let dir = from;
  while (!existsSync(join(dir, 'nx.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`trips: no nx.json above ${from}; run trips from the trips-pipeline checkout`);
    dir = up;
  }
  return dir;
}

/**
 * The command that runs an app: its esbuild bundle (the file a container runs) when `bundled`,
 * otherwise its TypeScript source through tsx, which needs no build step.
 */
export function appCommand(root: string, app: string, bundled: boolean): { command: string; args: string[]; env: Record<string, string> } {
  if (bundled) {
    const bundle = join(root, 'dist', 'apps', app, 'main.js');
    if (!existsSync(bundle)) throw new Error(`no bundle at ${bundle}: run \`npx nx run ${app}:build\` (or \`npm run build\`) first`);
    return { command: process.execPath, args: [bundle], env: {} };
  }
  return {
    command: process.execPath,
    args: ['--import', pathToFileURL(require.resolve('tsx')).href, join(root, 'apps', app, 'src', 'main.ts')],
    env: { TSX_TSCONFIG_PATH: join(root, 'tsconfig.json') },
  };
}
