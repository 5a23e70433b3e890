import { parseArgs, type ParseArgsConfig } from 'node:util';
import { parseDs } from './dates';
import { UsageError, exitCodeOf, TripsError } from './errors';
import { createLogger, maskSecrets, type Logger } from './logger';
import { GateError } from './task-record';

type OptionSpec = { type: 'string' | 'boolean'; description: string; default?: string | boolean };

export interface TaskCliSpec<R> {
  /** The app's name, e.g. `validate-raw`. */
  name: string;
  description: string;
  /** Options besides `--ds` and `--help`. */
  options?: Record<string, OptionSpec>;
  run(ctx: TaskContext): Promise<R>;
}

export interface TaskContext {
  ds: string;
  options: Record<string, string | boolean | undefined>;
  logger: Logger;
}

export function usage(spec: { name: string; description: string; options?: Record<string, OptionSpec> }, withDs = true): string {
  const opts: Array<[string, string]> = [];
  if (withDs) opts.push(['--ds YYYY-MM-DD', 'logical date of the run (required)']);
  for (const [k, o] of Object.entries(spec.options ?? {})) {
    opts.push([o.type === 'string' ? `--${k} VALUE` : `--${k}`, o.description + (o.default !== undefined ? ` (default ${o.default})` : '')]);
  }
  opts.push(['--help', 'show this help']);
  const width = Math.max(...opts.map(([k]) => k.length));
  return [`Usage: ${spec.name}${withDs ? ' --ds YYYY-MM-DD' : ''} [options]`, '', spec.description, '', 'Options:', ...opts.map(([k, d]) => `  ${k.padEnd(width)}  ${d}`)].join('\n');
}

/** Parses argv against the spec; throws UsageError naming the bad argument. */
export function parseTaskArgs(
  spec: { name: string; options?: Record<string, OptionSpec> },
  argv: string[],
): { help: boolean; ds?: string; options: Record<string, string | boolean | undefined> } {
  const options: ParseArgsConfig['options'] = { ds: { type: 'string' }, help: { type: 'boolean', short: 'h' } };
  for (const [k, o] of Object.entries(spec.options ?? {})) options[k] = { type: o.type };
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, strict: true, allowPositionals: false });
  } catch (e) {
    throw new UsageError(`${spec.name}: ${(e as Error).message}`);
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  if (values.help) return { help: true, options: values };
  if (typeof values.ds !== 'string') throw new UsageError(`${spec.name}: --ds YYYY-MM-DD is required`);
  const ds = parseDs(values.ds);
  for (const [k, o] of Object.entries(spec.options ?? {})) if (values[k] === undefined && o.default !== undefined) values[k] = o.default;
  return { help: false, ds, options: values };
}

/** Prints a message for a failure: the message alone for our own errors, the stack for bugs. */
export function describeError(error: unknown): string {
  if (error instanceof TripsError) return maskSecrets(error.message);
  if (error instanceof Error) return maskSecrets(error.stack ?? error.message);
  return String(error);
}

/**
 * Runs a task's CLI: parses `--ds` and options, calls `run`, and exits with the code of the error
 * it throws (see errors.ts). `--help` prints usage and exits 0; bad arguments exit 64.
 */
export async function runTaskCli<R>(spec: TaskCliSpec<R>, argv = process.argv.slice(2), logLevel = 'info'): Promise<void> {
  let parsed;
  try {
    parsed = parseTaskArgs(spec, argv);
  } catch (e) {
    process.stderr.write(`${describeError(e)}\n\n${usage(spec)}\n`);
    process.exitCode = exitCodeOf(e);
    return;
  }
  if (parsed.help) {
    process.stdout.write(`${usage(spec)}\n`);
    return;
  }
  const logger = createLogger(spec.name, logLevel);
  try {
    const result = await spec.run({ ds: parsed.ds as string, options: parsed.options, logger });
    writeSummary(result);
  } catch (e) {
    // A task that refused its input after doing its work (GateError, or any error carrying the outcome).
    if (e instanceof GateError) writeSummary({ task: spec.name, ds: parsed.ds, status: 'failed', ...e.outcome });
    else if (typeof e === 'object' && e !== null && 'outcome' in e) writeSummary((e as { outcome: unknown }).outcome);
    logger.error({ ds: parsed.ds, exitCode: exitCodeOf(e) }, describeError(e));
    process.stderr.write(`${spec.name} failed for ds=${parsed.ds}: ${describeError(e)}\n`);
    process.exitCode = exitCodeOf(e);
  }
}

/**
 * The task's outcome as the last line on stdout, one JSON object (task, ds, status and its counts):
 * what Airflow keeps as the task's XCom and puts into its notifications. Only for results that
 * carry a status (a task manifest, or ingest-sftp's pass manifest).
 */
function writeSummary(result: unknown): void {
  if (typeof result !== 'object' || result === null || !('status' in result)) return;
  const m = result as { task?: string; ds?: string; status?: string; rows?: unknown; rejectedByReason?: unknown; counts?: unknown };
  process.stdout.write(`${JSON.stringify({ task: m.task, ds: m.ds, status: m.status, rows: m.rows, rejectedByReason: m.rejectedByReason, counts: m.counts })}\n`);
}
