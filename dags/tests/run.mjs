// `nx test dags`: sets up the DAG test environment (a Python virtual environment in dags/.venv with
// the pinned Airflow, created once and again whenever requirements.txt or constraints.txt change),
// then runs the pytest suite. Without Python 3.10+ it says so and skips: the TypeScript tests still
// check that the committed DAG files are what the generator writes.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dags = dirname(dirname(fileURLToPath(import.meta.url)));
const venv = join(dags, '.venv');
const python = join(venv, 'bin', 'python');
const stamp = join(venv, '.requirements.sha256');

function findPython() {
  for (const candidate of [process.env.PYTHON, 'python3', 'python'].filter(Boolean)) {
    const probe = spawnSync(candidate, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], { encoding: 'utf8' });
    if (probe.status !== 0) continue;
    const [major, minor] = probe.stdout.trim().split('.').map(Number);
    if (major === 3 && minor >= 10) return candidate;
    console.log(`dags: ${candidate} is Python ${probe.stdout.trim()}; the DAG tests need 3.10+`);
  }
  return undefined;
}

const hash = createHash('sha256')
  .update(readFileSync(join(dags, 'requirements.txt')))
  .update(readFileSync(join(dags, 'constraints.txt')))
  .digest('hex');

if (!existsSync(stamp) || readFileSync(stamp, 'utf8').trim() !== hash || !existsSync(python)) {
  const base = findPython();
  if (!base) {
    console.log('dags: SKIPPED the Airflow tests: no Python 3.10+ on PATH (set PYTHON=/path/to/python3 to choose one)');
    process.exit(0);
  }
  console.log(`dags: creating ${venv} with the pinned Airflow (once; a few minutes)`);
  execFileSync(base, ['-m', 'venv', '--clear', venv], { stdio: 'inherit' });
  execFileSync(python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '-r', join(dags, 'requirements.txt'), '-c', join(dags, 'constraints.txt')], {
    stdio: 'inherit',
  });
  writeFileSync(stamp, `${hash}\n`);
}

const result = spawnSync(python, ['-m', 'pytest', join(dags, 'tests'), '-q', '-p', 'no:cacheprovider', ...process.argv.slice(2)], { stdio: 'inherit', cwd: dags });
process.exit(result.status ?? 1);
