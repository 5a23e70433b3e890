import { UsageError } from './errors';

const DS = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Checks a logical date `YYYY-MM-DD` (a real calendar day) and returns it unchanged. */
export function parseDs(value: string, what = '--ds'): string {
  const m = DS.exec(value);
  const d = m ? new Date(Date.UTC(+m[1], +m[2] - 1, +m[3])) : undefined;
  if (!m || !d || d.getUTCFullYear() !== +m[1] || d.getUTCMonth() !== +m[2] - 1 || d.getUTCDate() !== +m[3]) {
    throw new UsageError(`${what} must be a calendar date YYYY-MM-DD, got "${value}"`);
  }
  return value;
}

/** Every day from `from` to `to`, both included. */
export function dateRange(from: string, to: string): string[] {
  parseDs(from, 'start date');
  parseDs(to, 'end date');
  if (from > to) throw new UsageError(`date range is reversed: ${from} is after ${to}`);
  const out: string[] = [];
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`); t += 86_400_000) {
    out.push(new Date(t).toISOString().slice(0, 10));
  }
  return out;
}
