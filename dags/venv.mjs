// The DAG test environment: a Python virtual environment in dags/.venv with the pinned Airflow
// (requirements.txt, constraints.txt), created once and again whenever either file changes.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const dagsDir = dirname(fileURLToPath(import.meta.url));
const venv = join(dagsDir, '.venv');
const stamp = join(venv, '.requirements.sha256');

function findPython() {
  for (const candidate of [process.env.PYTHON, 'python3', 'python'].filter(Boolean)) {
    const probe = spawnSync(candidate, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], { encoding: 'utf8' });
    if (probe.status !== 0) continue;
    const [major, minor] = probe.stdout.trim().split('.').map(Number);
    if (major === 3 && minor >= 10) return candidate;
    console.log(`dags: ${candidate} is Python ${probe.stdout.trim()}; Airflow needs 3.10+`);
  }
  return undefined;
}

/** The venv's bin folder, after creating or updating the venv if needed; undefined without Python 3.10+. */
export function ensureAirflowVenv() {
  const bin = join(venv, 'bin');
  const hash = createHash('sha256')
    .update(readFileSync(join(dagsDir, 'requirements.txt')))
    .update(readFileSync(join(dagsDir, 'constraints.txt')))
    .digest('hex');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === hash && existsSync(join(bin, 'python'))) return bin;
  const base = findPython();
  if (!base) return undefined;
  console.log(`dags: creating ${venv} with the pinned Airflow (once; a few minutes)`);
  execFileSync(base, ['-m', 'venv', '--clear', venv], { stdio: 'inherit' });
  // Retried: a package index that times out mid-resolution makes pip report a (false) conflict.
  for (let attempt = 1; ; attempt++) {
    try {
      execFileSync(join(bin, 'python'), ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--retries', '10', '--timeout', '60', '-r', join(dagsDir, 'requirements.txt'), '-c', join(dagsDir, 'constraints.txt')], {
        stdio: 'inherit',
      });
      break;
    } catch (e) {
      if (attempt >= 3) throw e;
      console.log(`dags: pip install failed (attempt ${attempt} of 3); trying again`);
    }
  }
  writeFileSync(stamp, `${hash}\n`);
  return bin;
}
