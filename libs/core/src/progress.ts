import { pipeline, Transform, type Readable } from 'node:stream';
import type { Logger } from './logger';

/** What a stage has done so far, and of how much when known. */
export interface ProgressRecord {
  task: string;
  stage: string;
  state: 'start' | 'run' | 'done';
  rows?: number;
  bytes?: number;
  totalRows?: number;
  totalBytes?: number;
  /** Time since the stage started. */
  ms: number;
}

/** Set by `trips run` for its task processes: progress goes to stderr as `{"progress": …}` lines, for the runner to draw. */
export const PROGRESS_ENV = 'TRIPS_PROGRESS';

export interface ProgressStage {
  /** Adds what was done since the last call. */
  advance(done: { rows?: number; bytes?: number }): void;
  /** Also counts the bytes that flow through: pipe a stream through it. */
  counter(): Transform;
  done(): void;
}

export interface Progress {
  stage(name: string, total?: { rows?: number; bytes?: number }): ProgressStage;
}

/**
 * A task's progress, stage by stage (rows and bytes done, of a total when known). Under `trips run`
 * (TRIPS_PROGRESS=1) every change is a JSON line on stderr, at most four a second, which the runner
 * draws as a live line on a terminal, or one line per stage otherwise; elsewhere (Airflow, ECS) it
 * is ordinary info logs: a stage's start and end, and a line every 30 s of a long one.
 */
export function createProgress(task: string, logger: Logger | undefined, opts: { live?: boolean; out?: NodeJS.WritableStream; quietMs?: number } = {}): Progress {
  const live = opts.live ?? process.env[PROGRESS_ENV] === '1';
  const out = opts.out ?? process.stderr;
  const every = live ? 250 : (opts.quietMs ?? 30_000);
  return {
    stage(name, total = {}) {
      const started = Date.now();
      let rows = 0;
      let bytes = 0;
      let last = 0;
      const emit = (state: ProgressRecord['state']) => {
        const record: ProgressRecord = { task, stage: name, state, ms: Date.now() - started };
        if (rows) record.rows = rows;
        if (bytes) record.bytes = bytes;
        if (total.rows !== undefined) record.totalRows = total.rows;
        if (total.bytes !== undefined) record.totalBytes = total.bytes;
        if (live) out.write(`${JSON.stringify({ progress: record })}\n`);
        else logger?.info({ progress: record }, `${task}: ${describeProgress(record)}`);
      };
      const advance = (done: { rows?: number; bytes?: number }) => {
        rows += done.rows ?? 0;
        bytes += done.bytes ?? 0;
        const now = Date.now();
        if (now - last >= every) {
          last = now;
          emit('run');
        }
      };
      emit('start');
      last = Date.now();
      return {
        advance,
        counter: () =>
          new Transform({
            transform(chunk: Buffer, _enc, cb) {
              advance({ bytes: chunk.length });
              cb(null, chunk);
            },
          }),
        done: () => emit('done'),
      };
    },
  };
}

const MB = 1_000_000;
const size = (b: number) => (b >= 10 * MB ? `${Math.round(b / MB).toLocaleString('en-US')} MB` : `${(b / MB).toFixed(1)} MB`);
const duration = (s: number) => (s >= 90 ? `${Math.round(s / 60)} min` : `${Math.max(1, Math.round(s))} s`);

/** A progress record for people: `validating the raw files: 120 MB of 450 MB (27%), 12.0 MB/s, 28 s left`. */
export function describeProgress(r: ProgressRecord): string {
  const parts: string[] = [];
  const secs = r.ms / 1000;
  if (r.state === 'start') {
    const totals = [r.totalRows !== undefined ? `${r.totalRows.toLocaleString('en-US')} rows` : '', r.totalBytes !== undefined ? size(r.totalBytes) : ''].filter(Boolean);
    return `${r.stage}${totals.length ? ` (${totals.join(', ')})` : ''}`;
  }
  if (r.rows !== undefined || r.totalRows !== undefined) parts.push(`${(r.rows ?? 0).toLocaleString('en-US')}${r.totalRows !== undefined ? ` of ${r.totalRows.toLocaleString('en-US')}` : ''} rows`);
  if (r.bytes !== undefined || r.totalBytes !== undefined) parts.push(`${size(r.bytes ?? 0)}${r.totalBytes !== undefined ? ` of ${size(r.totalBytes)}` : ''}`);
  const [done, total] = r.totalBytes ? [r.bytes ?? 0, r.totalBytes] : r.totalRows ? [r.rows ?? 0, r.totalRows] : [0, 0];
  if (total > 0) parts.push(`${Math.floor((100 * done) / total)}%`);
  if (r.state === 'run' && secs >= 1) {
    if (r.bytes) parts.push(`${size(r.bytes / secs)}/s`);
    else if (r.rows) parts.push(`${Math.round(r.rows / secs).toLocaleString('en-US')} rows/s`);
    if (total > 0 && done > 0 && done < total) parts.push(`${duration((secs * (total - done)) / done)} left`);
  }
  if (r.state === 'done') parts.push(`done in ${secs.toFixed(1)} s`);
  return `${r.stage}${parts.length ? `: ${parts.join(', ')}` : ''}`;
}

/** `source` as read through a stage's byte counter; an error of the source reaches the reader. */
export function counted(source: Readable, stage: ProgressStage): Readable {
  const counter = stage.counter();
  pipeline(source, counter, () => undefined); // pipeline destroys the counter with the source's error
  return counter;
}
