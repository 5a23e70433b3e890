/**
 * Error types with the process exit code each maps to (sysexits.h values, so shells and Airflow
 * can tell a usage mistake from bad data from an unreachable service).
 */
export class TripsError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bad command-line arguments (EX_USAGE). */
export class UsageError extends TripsError {
  constructor(message: string) {
    super(message, 64);
  }
}

/** Input data the task refuses, e.g. the reject ratio passed its threshold (EX_DATAERR). */
export class DataError extends TripsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 65, options);
  }
}

/** A setting is missing or malformed (EX_CONFIG). */
export class ConfigError extends TripsError {
  constructor(message: string) {
    super(message, 78);
  }
}

/** A service the task needs failed or was unreachable (EX_UNAVAILABLE). */
export class ExternalError extends TripsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 69, options);
  }
}

/** Someone else is working on the same thing (e.g. another run holds the day's lock); try again later (EX_TEMPFAIL). */
export class BusyError extends TripsError {
  constructor(message: string) {
    super(message, 75);
  }
}

/** A check on data the task itself wrote failed: a bug, not bad input (EX_SOFTWARE). */
export class ContractError extends TripsError {
  constructor(message: string) {
    super(message, 70);
  }
}

/**
 * A statement the database refused (syntax, unknown column, …): the database's message, and where in
 * the statement. Exit 3, as psql exits when a script's statement fails.
 */
export class QueryError extends TripsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 3, options);
  }
}

export function exitCodeOf(error: unknown): number {
  return error instanceof TripsError ? error.exitCode : 1;
}
