import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..', '..');

/**
 * A Python virtual environment under <repo>/.venv/<name> with the packages of `requirements`
 * (and its `constraints`), created on first use and again when either file changes; returns its
 * python, or undefined (with a notice) when no Python 3.10+ is installed. Safe when several Jest
 * workers ask at once: one installs, the others wait on a lock folder.
 */
export function ensureVenv(name: string, requirements: string, constraints?: string): string | undefined {
  const venv = join(ROOT, '.venv', name);
  const python = join(venv, 'bin', 'python');
  const stamp = join(venv, '.requirements.sha256');
  const hash = createHash('sha256').update(readFileSync(requirements));
  if (constraints) hash.update(readFileSync(constraints));
  const want = hash.digest('hex');
  const ready = () => existsSync(python) && existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === want;
  if (ready()) return python;
  const base = findPython();
  if (!base) {
    process.stderr.write(`ensureVenv(${name}): no Python 3.10+ on PATH; the tests that need it are skipped\n`);
    return undefined;
  }
  mkdirSync(join(ROOT, '.venv'), { recursive: true });
  const lock = join(ROOT, '.venv', `${name}.lock`);
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // Another worker installs; a lock older than 15 minutes is from a killed run.
      if (Date.now() - statSync(lock, { throwIfNoEntry: false })!.mtimeMs > 15 * 60_000) rmSync(lock, { recursive: true, force: true });
      else execFileSync('sleep', ['1']);
      if (ready()) return python;
    }
  }
  try {
    if (ready()) return python;
    execFileSync(base, ['-m', 'venv', '--clear', venv], { stdio: 'pipe' });
    const args = ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--retries', '10', '--timeout', '60', '-r', requirements, ...(constraints ? ['-c', constraints] : [])];
    for (let attempt = 1; ; attempt++) {
      const r = spawnSync(python, args, { encoding: 'utf8' });
      if (r.status === 0) break;
      if (attempt >= 3) throw new Error(`pip install -r ${requirements} failed:\n${r.stderr.slice(-3000)}`);
    }
    writeFileSync(stamp, `${want}\n`);
    return python;
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

function findPython(): string | undefined {
  for (const candidate of [process.env.PYTHON, 'python3', 'python'].filter((c): c is string => !!c)) {
    const probe = spawnSync(candidate, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], { encoding: 'utf8' });
    if (probe.status !== 0) continue;
    const [major, minor] = probe.stdout.trim().split('.').map(Number);
    if (major === 3 && minor >= 10) return candidate;
  }
  return undefined;
}

/** The venv of moto and sqlglot (tools/python/requirements-aws.txt). */
export function awsToolsPython(): string | undefined {
  return ensureVenv('aws', join(ROOT, 'tools', 'python', 'requirements-aws.txt'), join(ROOT, 'tools', 'python', 'constraints-aws.txt'));
}
