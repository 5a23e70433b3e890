/**
 * Writes the generated DAG files from the pipeline definition (`npx nx run dag-generator:generate`),
 * or with --check only reports which differ and exits 1.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PIPELINE, assertValidPipeline } from '@trips/pipeline';
import { generatedFiles } from './generate';

const root = join(__dirname, '..', '..', '..');
const check = process.argv.includes('--check');
const apps = readdirSync(join(root, 'apps'), { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name);
assertValidPipeline(PIPELINE, apps);

let stale = 0;
for (const [path, content] of Object.entries(generatedFiles(PIPELINE))) {
  const file = join(root, path);
  let current: string | undefined;
  try {
    current = readFileSync(file, 'utf8');
  } catch {
    current = undefined;
  }
  if (current === content) {
    process.stdout.write(`unchanged ${path}\n`);
  } else if (check) {
    stale += 1;
    process.stdout.write(`STALE     ${path} (run: npx nx run dag-generator:generate)\n`);
  } else {
    writeFileSync(file, content);
    process.stdout.write(`wrote     ${path}\n`);
  }
}
process.exitCode = stale > 0 ? 1 : 0;
