import { randomUUID } from 'node:crypto';
import { helpOf, parseCommand, type CommandSpec, type OptionSpec } from './args';
import { parseDs } from './dates';
import { UsageError, exitCodeOf, TripsError } from './errors';
import { createLogger, maskSecrets, type Logger } from './logger';
import { OutcomeError } from './task-record';

export interface TaskCliSpec<R> {
  /** The app's name, e.g. `validate-raw`. */
  name: string;
  /** The pipeline task it runs (its manifest's `task`), for the summary of a failure. */
  task?: string;
  description: string;
  /** Options besides `--ds`, `--run-id`, `--help` and `--version`. */
  options?: Record<string, OptionSpec>;
  run(ctx: TaskContext): Promise<R>;
}

export interface TaskContext {
  ds: string;
  /** The run this task belongs to (`--run-id`: Airflow's run_id, or a `trips run` id); a fresh id when run alone. */
  runId: string;
  /** True when `--run-id` named a run this task is one step of; false when the task runs on its own. */
  partOfRun: boolean;
  options: Record<string, string | string[] | boolean | undefined>;
  logger: Logger;
}

/** The command line of a task app: its options, and the logical date and run every task takes. */
function taskCommand(spec: { name: string; description: string; options?: Record<string, OptionSpec> }): CommandSpec {
  return {
    name: spec.name,
    description: spec.description,
    options: {
      ds: { type: 'string', value: 'YYYY-MM-DD', description: 'logical date of the run (required; `today` is the current UTC day)' },
      'run-id': { type: 'string', value: 'ID', description: "the run this task is part of (Airflow passes its run_id): its tasks share the day's lock" },
      ...spec.options,
    },
  };
}

export function usage(spec: { name: string; description: string; options?: Record<string, OptionSpec> }): string {
  return helpOf(taskCommand(spec));
}

/** Run ids as Airflow writes them (`manual__2018-05-28T03:00:00+00:00`) and as `trips run` makes them. */
const RUN_ID = /^[A-Za-z0-9_.~:+-]{1,250}$/;

/** Parses argv against the spec; throws UsageError naming the bad argument. `print` is help or version text. */
export function parseTaskArgs(
  spec: { name: string; description?: string; options?: Record<string, OptionSpec> },
  argv: string[],
): { print?: string; ds?: string; runId?: string; options: Record<string, string | string[] | boolean | undefined> } {
  const parsed = parseCommand(taskCommand({ description: '', ...spec }), argv);
  if (parsed.kind === 'print') return { print: parsed.text, options: {} };
  const values = parsed.values;
  if (typeof values.ds !== 'string') throw new UsageError(`${spec.name}: --ds YYYY-MM-DD is required`);
  // `today`: the current UTC day, for a long-running task started without a date (ingest-sftp --watch as a service).
  const ds = values.ds === 'today' ? new Date().toISOString().slice(0, 10) : parseDs(values.ds);
  const runId = values['run-id'];
  if (runId !== undefined && !RUN_ID.test(String(runId))) throw new UsageError(`${spec.name}: --run-id must be 1 to 250 letters, digits and _.~:+-, got "${runId}"`);
  return { ds, runId: runId as string | undefined, options: values };
}

/** Prints a message for a failure: the message alone for our own errors, the stack for bugs. */
export function describeError(error: unknown): string {
  if (error instanceof TripsError) return maskSecrets(error.message);
  if (error instanceof Error) return maskSecrets(error.stack ?? error.message);
  return String(error);
}

/**
 * Set (to 1) by `trips run` for a task it starts while the task before it still runs: the task loads
 * its code, then waits for a line `go` on stdin before it reads its settings or anything else.
 * Starting a task (node loading its bundle, its libraries and DuckDB) takes 0.2-0.5 s of one core,
 * which the run then spends beside the task before it instead of after it. If stdin ends without
 * `go` (the run stopped before its turn), the task does nothing and exits 75.
 */
export const START_GATE_ENV = 'TRIPS_START_GATE';

/** Waits for `go` on stdin: true when it came, false when stdin ended or failed first. */
function startSignal(): Promise<boolean> {
  return new Promise((resolve) => {
    const stdin = process.stdin;
    let text = '';
    const finish = (go: boolean) => {
      stdin.removeAllListeners('data');
      stdin.destroy();
      resolve(go);
    };
    stdin.setEncoding('utf8');
    stdin.on('data', (chunk: string) => {
      text += chunk;
      if (text.includes('\n')) finish(text.split('\n')[0].trim() === 'go');
    });
    stdin.once('end', () => finish(false));
    stdin.once('error', () => finish(false));
  });
}

/**
 * Runs a task's CLI: parses `--ds` and options, calls `run`, and exits with the code of the error
 * it throws (see errors.ts). `--help` prints usage and exits 0; bad arguments exit 64. Under
 * START_GATE_ENV it waits for its turn first.
 */
export async function runTaskCli<R>(spec: TaskCliSpec<R>, argv = process.argv.slice(2), logLevel = 'info'): Promise<void> {
  // The AWS SDK's notice that its releases after January 2027 need Node 22 is said once, in the
  // README, rather than in every task's log (the images run Node 24 anyway).
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  let parsed;
  try {
    parsed = parseTaskArgs(spec, argv);
  } catch (e) {
    process.stderr.write(`${describeError(e)}\n\n${usage(spec)}\n`);
    process.exitCode = exitCodeOf(e);
    return;
  }
  if (parsed.print !== undefined) {
    process.stdout.write(parsed.print);
    return;
  }
  if (process.env[START_GATE_ENV] === '1' && !(await startSignal())) {
    process.stderr.write(`${spec.name}: not started for ds=${parsed.ds}: the run ended before its turn\n`);
    process.exitCode = 75;
    return;
  }
  const logger = createLogger(spec.name, logLevel);
  const done = guardUnfinished(`${spec.name} for ds=${parsed.ds}`);
  try {
    const runId = parsed.runId ?? `${spec.name}-${parsed.ds}-${randomUUID().slice(0, 8)}`;
    const result = await spec.run({ ds: parsed.ds as string, runId, partOfRun: parsed.runId !== undefined, options: parsed.options, logger });
    writeSummary(result);
  } catch (e) {
    // A task that failed after doing its work: its summary still says what it did.
    if (e instanceof OutcomeError) writeSummary({ task: spec.task ?? spec.name, ds: parsed.ds, status: 'failed', ...e.outcome });
    logger.error({ ds: parsed.ds, exitCode: exitCodeOf(e) }, describeError(e));
    process.stderr.write(`${spec.name} failed for ds=${parsed.ds}: ${describeError(e)}\n`);
    process.exitCode = exitCodeOf(e);
  } finally {
    done();
  }
}

/**
 * Makes a command that stops before it has finished fail loudly. Node exits, with code 0, when
 * nothing is left to run: a promise that can never settle (say, waiting for the exit of a server
 * that has already died) ends the process as if it had succeeded. Call at the start; call the
 * returned function when done. If the process is about to exit before that, it says so on stderr
 * and exits 70 (EX_SOFTWARE).
 */
export function guardUnfinished(what: string): () => void {
  let finished = false;
  const onBeforeExit = () => {
    if (finished) return;
    finished = true;
    process.stderr.write(`${what}: stopped before finishing: it was waiting for something that can no longer happen (a stand-in or server that died?); this is a bug, please report it\n`);
    process.exitCode = 70;
  };
  process.once('beforeExit', onBeforeExit);
  return () => {
    finished = true;
    process.removeListener('beforeExit', onBeforeExit);
  };
}

/**
 * The task's outcome as the last line on stdout, one JSON object (task, ds, status, its row counts
 * and rejects by reason, and the counts of its details when it has some, as ingest-sftp's files):
 * what Airflow keeps as the task's XCom and puts into its notifications. Only for results that carry
 * a status (a task manifest).
 */
function writeSummary(result: unknown): void {
  if (typeof result !== 'object' || result === null || !('status' in result)) return;
  const m = result as { task?: string; ds?: string; status?: string; rows?: unknown; rejectedByReason?: unknown; details?: { counts?: unknown } };
  process.stdout.write(`${JSON.stringify({ task: m.task, ds: m.ds, status: m.status, rows: m.rows, rejectedByReason: m.rejectedByReason, counts: m.details?.counts })}\n`);
}
