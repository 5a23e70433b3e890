import pino, { type Logger } from 'pino';

export type { Logger };

/** Keys whose values are replaced by "[redacted]" wherever they appear in a log record. */
const REDACT = [
  'password',
  'secret',
  'token',
  'connectionString',
  'pgUrl',
  'TRIPS_PG_URL',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'credentials',
];

const REDACT_PATHS = REDACT.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]);

const registered = new Set<string>();

/**
 * Declares a value secret (e.g. a setting decrypted from KMS): from now on maskSecrets, hence every
 * log message and error this process prints, shows it as ***.
 */
export function registerSecret(value: string): void {
  if (value.length >= 4) registered.add(value);
}

/** Masks registered secrets and the password of any URL-with-credentials inside a string. */
export function maskSecrets(text: string): string {
  let out = text;
  for (const secret of registered) out = out.split(secret).join('***');
  return out.replace(/(\w+:\/\/[^:/\s@]+:)[^@\s]+@/g, '$1***@');
}

/**
 * A JSON logger on stderr (stdout is kept for machine-readable output such as `--json`).
 * Known secret fields are redacted and credentials inside URLs in messages are masked.
 */
export function createLogger(name: string, level = 'info', destination: NodeJS.WritableStream = process.stderr): Logger {
  return pino(
    {
      name,
      level,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      hooks: {
        logMethod(args, method) {
          const masked = args.map((a) => (typeof a === 'string' ? maskSecrets(a) : a)) as typeof args;
          return method.apply(this, masked);
        },
      },
      formatters: { level: (label) => ({ level: label }) },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination as pino.DestinationStream,
  );
}
