import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..', '..');

export type SqlglotRequest = { op: 'parse'; sql: string; read: string } | { op: 'transpile'; sql: string; read: string; write: string };
export type SqlglotResult = { ok: true; statements?: number; sql?: string } | { ok: false; error: string };

/** Runs requests through tools/python/sqlglot_tool.py in the .venv/aws environment (one process for all). */
export function sqlglot(python: string, requests: SqlglotRequest[]): SqlglotResult[] {
  const r = spawnSync(python, [join(ROOT, 'tools', 'python', 'sqlglot_tool.py')], { input: JSON.stringify(requests), encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`sqlglot_tool.py failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as SqlglotResult[];
}
