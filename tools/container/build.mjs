#!/usr/bin/env node
// `npx nx run <app>:container`: writes the app's runtime manifest, then builds its image with
// docker/app.Dockerfile, tagged trips/<app>:<git commit> (and :latest locally). Needs a Docker engine.
//
//   node tools/container/build.mjs <app> [--push <registry>]
import { execFileSync, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeAppManifest } from './manifest.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const [app, flag, registry] = process.argv.slice(2);
if (!app || (flag && (flag !== '--push' || !registry))) {
  console.error('usage: node tools/container/build.mjs <app> [--push <registry>]');
  process.exit(64);
}
writeAppManifest(app);
const sha = process.env.TRIPS_IMAGE_TAG ?? execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
const image = `trips/${app}`;
const run = (args) => {
  const r = spawnSync('docker', args, { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
run(['build', '--platform', 'linux/amd64', '-f', 'docker/app.Dockerfile', '--build-arg', `APP=${app}`, '-t', `${image}:${sha}`, '-t', `${image}:latest`, '.']);
if (registry) {
  run(['tag', `${image}:${sha}`, `${registry}/${image}:${sha}`]);
  run(['push', `${registry}/${image}:${sha}`]);
}
console.log(`${image}:${sha}`);
