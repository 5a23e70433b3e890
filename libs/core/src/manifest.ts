/**
 * The JSON manifest each task writes under s3://LAKE/manifests/<task>/ds=D/manifest.json.
 * Row accounting closes: read = passed + rejected + duplicates, for the task and for every file.
 */
export interface RowCounts {
  read: number;
  passed: number;
  rejected: number;
  duplicates: number;
}

export interface FileAccount {
  /** Object key (or table name) the rows came from. */
  file: string;
  /** `quarantined` when the whole file was refused (wrong header, not UTF-8, empty). */
  status: 'ok' | 'quarantined';
  reason?: string;
  rows: RowCounts;
  rejectedByReason: Record<string, number>;
  bytes?: number;
  sha256?: string;
}

export interface OutputInfo {
  /** s3://bucket/prefix the task replaced. */
  location: string;
  rows: number;
}

export interface TaskManifest<D = unknown> {
  /** The task id of the pipeline definition (the manifest's folder). */
  task: string;
  ds: string;
  /** The run that wrote it (`--run-id`), so a runner can tell its own outcome from an earlier one. */
  runId?: string;
  status: 'succeeded' | 'failed';
  error?: string;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  rows: RowCounts;
  rejectedByReason: Record<string, number>;
  files: FileAccount[];
  outputs: OutputInfo[];
  /** What a task records beyond rows (ingest-sftp: the files of its pass, counted by outcome). */
  details?: D;
}

export function emptyCounts(): RowCounts {
  return { read: 0, passed: 0, rejected: 0, duplicates: 0 };
}

export function addCounts(a: RowCounts, b: RowCounts): RowCounts {
  return {
    read: a.read + b.read,
    passed: a.passed + b.passed,
    rejected: a.rejected + b.rejected,
    duplicates: a.duplicates + b.duplicates,
  };
}

export function addReasons(into: Record<string, number>, from: Record<string, number>): Record<string, number> {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
  return into;
}

/** Returns a description of the first accounting gap, or undefined when every count closes. */
export function accountingGap(m: Pick<TaskManifest, 'rows' | 'files' | 'rejectedByReason'>): string | undefined {
  const check = (what: string, r: RowCounts, reasons: Record<string, number>): string | undefined => {
    if (r.read !== r.passed + r.rejected + r.duplicates) {
      return `${what}: read ${r.read} != passed ${r.passed} + rejected ${r.rejected} + duplicates ${r.duplicates}`;
    }
    const byReason = Object.values(reasons).reduce((s, n) => s + n, 0);
    if (byReason !== r.rejected) return `${what}: rejected ${r.rejected} != sum of reasons ${byReason}`;
    return undefined;
  };
  for (const f of m.files) {
    const gap = check(`file ${f.file}`, f.rows, f.rejectedByReason);
    if (gap) return gap;
  }
  return check('task', m.rows, m.rejectedByReason);
}
