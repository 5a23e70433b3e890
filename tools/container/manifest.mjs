#!/usr/bin/env node
// Writes dist/apps/<app>/package.json: the production packages the app's bundle still requires
// (esbuild leaves native and optional ones external), at the exact versions package-lock.json
// resolved. docker/app.Dockerfile installs exactly these.
//
//   node tools/container/manifest.mjs <app>
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The runtime manifest of an app's bundle. */
export function appManifest(app, root = ROOT) {
  const bundle = join(root, 'dist', 'apps', app, 'main.js');
  if (!existsSync(bundle)) throw new Error(`no bundle at ${bundle}: run \`npx nx run ${app}:build\` first`);
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'));
  const required = new Set([...readFileSync(bundle, 'utf8').matchAll(/require\("((?:@[a-z0-9._-]+\/)?[a-z0-9._-]+)(?:\/[^"]*)?"\)/g)].map((m) => m[1]));
  // Packages the bundle requires that are the project's dependencies; the rest are Node's own or optional (try/require).
  const dependencies = Object.fromEntries(
    Object.keys(pkg.dependencies)
      .filter((name) => required.has(name))
      .sort()
      .map((name) => {
        const version = lock.packages[`node_modules/${name}`]?.version;
        if (!version) throw new Error(`${name} is not in package-lock.json: run npm install`);
        return [name, version];
      }),
  );
  return { name: `trips-${app}`, version: pkg.version, private: true, description: `${app}: the runtime packages of its bundle`, engines: { node: '>=22' }, dependencies };
}

export function writeAppManifest(app, root = ROOT) {
  const manifest = appManifest(app, root);
  const path = join(root, 'dist', 'apps', app, 'package.json');
  writeFileSync(path, `${JSON.stringify(manifest, null, 2)}\n`);
  return path;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const app = process.argv[2];
  if (!app) {
    console.error('usage: node tools/container/manifest.mjs <app>');
    process.exit(64);
  }
  console.log(writeAppManifest(app));
}
