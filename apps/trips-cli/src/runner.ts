import { spawn } from 'node:child_process';
import { PIPELINE, manifestKey, renderArgs, topologicalOrder, type Buckets } from '@trips/pipeline';
import type { ObjectStore } from '@trips/storage';
import { PROGRESS_ENV, START_GATE_ENV, type FileAccount, type RowCounts, type TaskManifest } from '@trips/core';
import type { TaskOutput } from './progress-view';
import { appCommand } from './workspace';

export interface TaskResult {
  task: string;
  app: string;
  status: 'succeeded' | 'failed' | 'skipped';
  exitCode?: number;
  durationMs?: number;
  error?: string;
  rows?: RowCounts;
  rejectedByReason?: Record<string, number>;
  files?: FileAccount[];
  outputs?: TaskManifest['outputs'];
  /** What the task recorded beyond rows (ingest_sftp: files seen, landed, skipped, failed). */
  details?: unknown;
}

export interface RunResult {
  ds: string;
  runId?: string;
  /** `refused`: another run held the day's lock, nothing was done. */
  status: 'succeeded' | 'failed' | 'refused';
  error?: string;
  tasks: TaskResult[];
}

export interface RunOptions {
  root: string;
  ds: string;
  /** The run's id: every task gets it (`--run-id`) and so joins the day's lock the run holds. */
  runId: string;
  env: Record<string, string>;
  store: ObjectStore;
  buckets: Buckets;
  bundled: boolean;
  /** Task ids left out of this run (e.g. the ingestion task when the raw batch was landed directly). */
  omit?: string[];
  /** Extra arguments per app, e.g. `--max-reject-ratio` for validate-raw. */
  extraArgs?: Record<string, string[]>;
  /** Stream the apps' own logs to stderr instead of keeping them for failures only. */
  verbose?: boolean;
  /** Draws the tasks' progress (and, verbose, their logs); without it the tasks report no progress. */
  output?: TaskOutput;
  /** Aborted when the run cannot go on (a stand-in died): the running task is stopped and fails, with the reason. */
  signal?: AbortSignal;
  onTaskStart?(task: string): void;
  onTaskEnd?(result: TaskResult): void;
  /** What the first task waits for besides its start-up (the raw batch landing): the run fails with its error, no task run. */
  after?: Promise<unknown>;
}

/**
 * Runs the pipeline's tasks for one ds in definition order, each app in its own process exactly as
 * Airflow runs it, and stops at the first failure (the rest are reported as skipped). A task's
 * counts come from the manifest it wrote in this run (its run id), never from an earlier one.
 *
 * Each task's process is started while the task before it runs, and waits for its turn
 * (START_GATE_ENV): its start-up, 0.2-0.5 s of one core, overlaps the work before it. A task's
 * time is from its turn to its exit.
 */
export async function runPipeline(opts: RunOptions): Promise<RunResult> {
  const tasks = topologicalOrder(PIPELINE.tasks).filter((t) => !opts.omit?.includes(t.id));
  const args = (t: (typeof tasks)[number]) => [...renderArgs(t, opts.ds, opts.runId), ...(opts.extraArgs?.[t.app] ?? [])];
  const results: TaskResult[] = [];
  let next = tasks.length > 0 ? startApp(opts, tasks[0].app, args(tasks[0])) : undefined;
  try {
    await opts.after;
    for (const [i, task] of tasks.entries()) {
      const app = next as StartedApp;
      next = undefined;
      opts.onTaskStart?.(task.id);
      const started = Date.now();
      app.go();
      if (i + 1 < tasks.length) next = startApp(opts, tasks[i + 1].app, args(tasks[i + 1]));
      const { exitCode, log } = await app.exited;
      const lost = opts.signal?.aborted ? String((opts.signal.reason as Error)?.message ?? opts.signal.reason) : undefined;
      const manifest = lost ? undefined : await opts.store.getJson<TaskManifest>(opts.buckets.lake, manifestKey(task.id, opts.ds)).catch(() => undefined);
      const mine = manifest?.runId === opts.runId ? manifest : undefined;
      const result: TaskResult = {
        task: task.id,
        app: task.app,
        status: exitCode === 0 && !lost ? 'succeeded' : 'failed',
        exitCode,
        durationMs: Date.now() - started,
        rows: mine?.rows,
        rejectedByReason: mine?.rejectedByReason,
        files: mine?.files,
        outputs: mine?.outputs,
        details: mine?.details,
      };
      if (result.status === 'failed') result.error = lost ? `${lost} while ${task.id} was running; the run cannot go on` : (mine?.error ?? lastLines(log, 20));
      results.push(result);
      opts.onTaskEnd?.(result);
      if (result.status === 'failed') {
        for (const rest of tasks.slice(i + 1)) results.push({ task: rest.id, app: rest.app, status: 'skipped' });
        break;
      }
    }
  } finally {
    // A task started for a turn that does not come: its stdin ends, and it exits doing nothing.
    if (next) {
      next.cancel();
      await next.exited;
    }
  }
  const failed = results.some((r) => r.status === 'failed');
  return { ds: opts.ds, runId: opts.runId, status: failed ? 'failed' : 'succeeded', tasks: results };
}

/** An app's process, started and waiting for its turn (START_GATE_ENV). */
interface StartedApp {
  /** Its turn: it starts its work. */
  go(): void;
  /** No turn for it: it exits doing nothing. */
  cancel(): void;
  /** Its exit code (128 when killed by a signal) and the end of its output. */
  exited: Promise<{ exitCode: number; log: string }>;
}

function startApp(opts: RunOptions, app: string, args: string[]): StartedApp {
  const cmd = appCommand(opts.root, app, opts.bundled);
  const child = spawn(cmd.command, [...cmd.args, ...args], {
    cwd: opts.root,
    env: { ...process.env, LOG_LEVEL: opts.verbose ? 'info' : 'warn', ...(opts.output ? { [PROGRESS_ENV]: '1' } : {}), ...opts.env, ...cmd.env, [START_GATE_ENV]: '1' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  // An app that has already exited (it failed to start) cannot read its turn: its exit says why.
  child.stdin.on('error', () => undefined);
  const stop = () => child.kill('SIGTERM');
  opts.signal?.addEventListener('abort', stop, { once: true });
  let log = '';
  const keep = (text: string) => {
    log = (log + text).slice(-64_000);
  };
  child.stdout.on('data', (chunk: Buffer) => {
    if (opts.verbose) {
      opts.output?.clear();
      process.stderr.write(chunk);
    }
    keep(chunk.toString('utf8'));
  });
  child.stderr.on('data', (chunk: Buffer) => {
    if (opts.output) keep(opts.output.write(chunk.toString('utf8')));
    else {
      if (opts.verbose) process.stderr.write(chunk);
      keep(chunk.toString('utf8'));
    }
  });
  const exited = new Promise<{ exitCode: number; log: string }>((resolve) => {
    child.on('error', (e) => {
      keep(`${app}: could not start: ${e.message}\n`);
      resolve({ exitCode: 127, log });
    });
    child.on('close', (code, signal) => {
      opts.signal?.removeEventListener('abort', stop);
      resolve({ exitCode: code ?? (signal ? 128 : 1), log });
    });
  });
  return {
    go: () => child.stdin.end('go\n'),
    cancel: () => child.stdin.end(),
    exited,
  };
}

function lastLines(text: string, n: number): string {
  return text.trimEnd().split('\n').slice(-n).join('\n');
}
