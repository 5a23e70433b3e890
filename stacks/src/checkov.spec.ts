import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ensureVenv } from '@trips/local';
import { OUT, synthesizeTo } from './fixtures/synth';

// checkov (PyPI, pinned in stacks/checkov/requirements.txt, in .venv/checkov) scans the synthesised
// Terraform JSON of every environment, and of the ingestion variants, with the skips of
// stacks/checkov/config.yaml: no check may fail.
const HERE = join(__dirname, '..', 'checkov');
const CONFIG = join(HERE, 'config.yaml');

interface Report {
  summary: { passed: number; failed: number };
  results: { failed_checks: Array<{ check_id: string; check_name: string; resource: string }> };
}

function scan(python: string, dir: string): Report {
  const r = spawnSync(join(dirname(python), 'checkov'), ['--config-file', CONFIG, '-d', dir, '-o', 'json'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (!r.stdout.trim().startsWith('{') && !r.stdout.trim().startsWith('[')) throw new Error(`checkov did not report (exit ${r.status}):\n${r.stderr.slice(-2000)}`);
  const out = JSON.parse(r.stdout) as Report | Report[];
  return Array.isArray(out) ? out[0] : out;
}

describe('checkov on the synthesised stacks', () => {
  const python = ensureVenv('checkov', join(HERE, 'requirements.txt'));
  const variants = mkdtempSync(join(tmpdir(), 'trips-checkov-'));
  afterAll(() => rmSync(variants, { recursive: true, force: true }));

  it('lists every skipped check with its reason', () => {
    const lines = readFileSync(CONFIG, 'utf8').split('\n');
    const skips = lines.map((l, i) => [l, i] as const).filter(([l]) => /^\s+- CKV/.test(l));
    expect(skips.length).toBeGreaterThan(0);
    for (const [line, i] of skips) expect({ line, reason: /^\s+#\s*\S/.test(lines[i - 1]) }).toEqual({ line, reason: true });
  });

  it.each([
    ['dev', () => join(OUT, 'trips-dev')],
    ['prod', () => join(OUT, 'trips-prod')],
    ['dev with AWS Transfer Family', () => synthesizeTo(join(variants, 'transfer'), { ingestion: 'transfer-family' })],
    ['dev with scheduled SFTP ingestion', () => synthesizeTo(join(variants, 'scheduled'), { ingestion: 'sftp-scheduled' })],
  ])('passes every check for %s', (_what, dir) => {
    if (!python) return console.warn('checkov: skipped (no Python 3.10+)');
    const report = scan(python, dir());
    expect(report.results.failed_checks.map((f) => `${f.check_id} ${f.resource}: ${f.check_name}`)).toEqual([]);
    expect(report.summary.passed).toBeGreaterThan(200);
  }, 300_000);
});
