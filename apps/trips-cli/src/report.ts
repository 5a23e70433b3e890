import { UsageError } from '@trips/core';
import type { RunResult, TaskResult } from './runner';

const fmt = (n: number | undefined) => (n === undefined ? '-' : n.toLocaleString('en-US'));

/** A number as the tables show it: digits, a sign, separators, a fraction, a percent sign. */
const NUMERIC = /^[-+]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?%?$/;

/**
 * The one table style of every command: the first row is the header; a column whose every value
 * is a number (or NULL, or empty) is right-aligned, any other left-aligned. Any number of rows.
 */
export function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => rows.reduce((w, r) => Math.max(w, (r[i] ?? '').length), 0));
  const body = rows.slice(1);
  const numeric = rows[0].map((_, i) => body.length > 0 && body.every((r) => ['', 'NULL', '-'].includes(r[i] ?? '') || NUMERIC.test(r[i])) && body.some((r) => NUMERIC.test(r[i] ?? '')));
  return rows.map((r) => r.map((c, i) => (numeric[i] ? (c ?? '').padStart(widths[i]) : (c ?? '').padEnd(widths[i]))).join('  ').trimEnd()).join('\n');
}

export type OutputFormat = 'text' | 'json' | 'csv';

/** `--format text|json|csv` (`--json` is `--format json`). */
export function outputFormat(values: Record<string, unknown>): OutputFormat {
  const format = values.format ?? (values.json ? 'json' : 'text');
  if (format !== 'text' && format !== 'json' && format !== 'csv') throw new UsageError(`--format must be text, json or csv, got "${String(format)}"`);
  if (values.json && format !== 'json') throw new UsageError('give --json or --format, not both');
  return format;
}

/** The file counts of a task that counts files rather than rows (ingest_sftp). */
const fileCounts = (r: TaskResult) => (r.details as { counts?: { seen: number; landed: number; skipped: number; failed: number } } | undefined)?.counts;

export function taskLine(r: TaskResult): string {
  const rows = r.rows;
  const files = fileCounts(r);
  const secs = r.durationMs === undefined ? '' : ` in ${(r.durationMs / 1000).toFixed(1)} s`;
  const counts = files
    ? `: files seen ${fmt(files.seen)}, landed ${fmt(files.landed)}, skipped ${fmt(files.skipped)}, failed ${fmt(files.failed)}`
    : rows
      ? `: read ${fmt(rows.read)}, passed ${fmt(rows.passed)}, rejected ${fmt(rows.rejected)}, duplicates ${fmt(rows.duplicates)}`
      : '';
  return `  ${r.status === 'succeeded' ? 'ok  ' : r.status === 'failed' ? 'FAIL' : 'skip'} ${r.task}${counts}${secs}`;
}

/** The per-task accounting of one run, for people. */
export function formatRun(run: RunResult): string {
  const lines = [`ds=${run.ds}: ${run.status}${run.error ? `: ${run.error}` : ''}`];
  if (run.tasks.length === 0) return lines.join('\n');
  lines.push(
    table([
      ['task', 'status', 'read', 'passed', 'rejected', 'duplicates', 'seconds'],
      ...run.tasks.map((t) => [
        t.task,
        t.status,
        fmt(fileCounts(t) ? undefined : t.rows?.read),
        fmt(fileCounts(t) ? undefined : t.rows?.passed),
        fmt(fileCounts(t) ? undefined : t.rows?.rejected),
        fmt(fileCounts(t) ? undefined : t.rows?.duplicates),
        t.durationMs === undefined ? '-' : (t.durationMs / 1000).toFixed(1),
      ]),
    ])
      .split('\n')
      .map((l) => `  ${l}`)
      .join('\n'),
  );
  for (const t of run.tasks) {
    const reasons = Object.entries(t.rejectedByReason ?? {}).filter(([, n]) => n > 0);
    if (reasons.length) lines.push(`  ${t.task} rejected by reason: ${reasons.map(([k, n]) => `${k} ${fmt(n)}`).join(', ')}`);
    for (const f of t.files ?? []) if (f.status === 'quarantined') lines.push(`  ${t.task} quarantined file ${f.file}: ${f.reason}`);
    if (t.status === 'failed' && t.error) lines.push(`  ${t.task} failed: ${t.error.split('\n').join('\n    ')}`);
  }
  return lines.join('\n');
}

/** The machine-readable form of a run printed by `--json`. */
export function runJson(run: RunResult): object {
  return {
    ds: run.ds,
    runId: run.runId,
    status: run.status,
    ...(run.error ? { error: run.error } : {}),
    tasks: run.tasks.map((t) => ({
      task: t.task,
      app: t.app,
      status: t.status,
      exitCode: t.exitCode,
      durationMs: t.durationMs,
      rows: t.rows ?? null,
      rejectedByReason: t.rejectedByReason ?? {},
      files: t.files ?? [],
      outputs: t.outputs ?? [],
      ...(t.error ? { error: t.error } : {}),
    })),
  };
}

/** What a row's values look like in a table or CSV: NULL visible (tables), JSON as JSON, counts grouped in thousands when asked, the rest as text. */
function cellText(v: unknown, nullText: string, grouped = false): string {
  if (v === null || v === undefined) return nullText;
  if (grouped && typeof v === 'number' && Number.isInteger(v)) return v.toLocaleString('en-US');
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

const csvField = (s: string) => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

/**
 * Rows as the chosen format: a table with a row count, a JSON array, or CSV with a header. Query
 * results show values as the database gives them; `counts` (the commands' own summaries: runs,
 * manifests, rejects) groups whole numbers in thousands in tables, as the run's table does.
 */
export function formatRows(rows: Record<string, unknown>[], format: OutputFormat, opts: { counts?: boolean } = {}): string {
  if (format === 'json') return `${JSON.stringify(rows, null, 2)}\n`;
  const cols = rows.length > 0 ? Object.keys(rows[0]) : [];
  if (format === 'csv') return [cols, ...rows.map((r) => cols.map((c) => cellText(r[c], '')))].map((line) => line.map(csvField).join(',')).join('\n') + (cols.length ? '\n' : '');
  if (rows.length === 0) return '(no rows)\n';
  return `${table([cols, ...rows.map((r) => cols.map((c) => cellText(r[c], 'NULL', opts.counts)))])}\n(${rows.length} row${rows.length === 1 ? '' : 's'})\n`;
}
