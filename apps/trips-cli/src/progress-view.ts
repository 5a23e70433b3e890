import { describeProgress, type ProgressRecord } from '@trips/core';

/**
 * What `trips run` shows of its task processes' stderr: their progress records drawn as one live
 * line on a terminal (rewritten in place), or otherwise (a log file, CI) a line per stage that took a
 * second or more and a line every 30 s of a long one; with --verbose, their
 * JSON log records as readable lines. Everything else is kept for the failure report.
 */
export class TaskOutput {
  private partial = '';
  private live = false;

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly opts: { verbose: boolean; tty: boolean },
  ) {}

  /** Takes a chunk of a task's stderr; returns what is not progress (for the kept log). */
  write(chunk: string): string {
    const lines = (this.partial + chunk).split('\n');
    this.partial = lines.pop() ?? '';
    const kept: string[] = [];
    for (const line of lines) {
      const record = progressOf(line);
      if (record) this.progress(record);
      else {
        kept.push(line);
        if (this.opts.verbose) this.print(prettyLog(line));
      }
    }
    return kept.length ? `${kept.join('\n')}\n` : '';
  }

  /** Clears the live line (before the runner prints its own). */
  clear(): void {
    if (this.live) this.out.write('\r\x1b[2K');
    this.live = false;
  }

  private print(line: string): void {
    this.clear();
    this.out.write(`${line}\n`);
  }

  private progress(r: ProgressRecord): void {
    const text = `    ${r.task}: ${describeProgress(r)}`;
    if (this.opts.tty) {
      const width = Math.max(20, (this.out.columns || 120) - 1);
      this.out.write(`\r\x1b[2K${text.length > width ? `${text.slice(0, width - 1)}…` : text}`);
      this.live = true;
    } else {
      // A log, not a screen: a stage that took a second or more when it ends, and a long one every 30 s.
      const key = `${r.task}\u0000${r.stage}`;
      const due = r.state === 'done' ? r.ms >= 1000 : r.state === 'run' && r.ms - (this.printed.get(key) ?? 0) >= 30_000;
      if (!due) return;
      this.printed.set(key, r.ms);
      this.print(text);
    }
  }

  private readonly printed = new Map<string, number>();
}

function progressOf(line: string): ProgressRecord | undefined {
  if (!line.startsWith('{"progress":')) return undefined;
  try {
    return (JSON.parse(line) as { progress: ProgressRecord }).progress;
  } catch {
    return undefined;
  }
}

const LEVELS: Record<string, string> = { trace: 'TRACE', debug: 'DEBUG', info: 'INFO ', warn: 'WARN ', error: 'ERROR', fatal: 'FATAL' };
const SKIP = new Set(['level', 'time', 'name', 'msg', 'pid', 'hostname']);

/** A JSON log record as `12:00:01.234 INFO  validate-raw: message key=value …`; other lines as they are. */
export function prettyLog(line: string): string {
  if (!line.startsWith('{')) return line;
  try {
    const r = JSON.parse(line) as Record<string, unknown>;
    if (typeof r.msg !== 'string') return line;
    const time = typeof r.time === 'string' ? r.time.slice(11, 23) : '';
    const extra = Object.entries(r)
      .filter(([k]) => !SKIP.has(k))
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join(' ');
    return `${time} ${LEVELS[String(r.level)] ?? String(r.level)} ${r.name ? `${String(r.name)}: ` : ''}${r.msg}${extra ? `  ${extra}` : ''}`;
  } catch {
    return line;
  }
}
