import type { RunResult, TaskResult } from './runner';

const fmt = (n: number | undefined) => (n === undefined ? '-' : n.toLocaleString('en-US'));

/** A plain aligned table; the first row is the header. Any number of rows (no argument spreading). */
export function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => rows.reduce((w, r) => Math.max(w, (r[i] ?? '').length), 0));
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd()).join('\n');
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
