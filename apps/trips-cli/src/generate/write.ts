import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { once } from 'node:events';
import { HEADER, generateRows, type BadKind, type GenerateOptions } from './trips';

export interface Summary {
  rows: number;
  goodRows: number;
  badRows: number;
  badByKind: Partial<Record<BadKind, number>>;
  duplicates: number;
  rowsPerDay: Record<string, number>;
  files: string[];
}

/**
 * Streams generated trips to CSV: one file at `out`, or with `byDay` one `trips_YYYY-MM-DD.csv` per
 * trip day in the folder `out`. Respects back-pressure, so memory stays flat for any row count.
 */
export async function writeTrips(out: string, opts: GenerateOptions, byDay = false, progress?: (rows: number) => void): Promise<Summary> {
  const summary: Summary = { rows: 0, goodRows: 0, badRows: 0, badByKind: {}, duplicates: 0, rowsPerDay: {}, files: [] };
  const streams = new Map<string, WriteStream>();
  const open = async (path: string) => {
    let s = streams.get(path);
    if (!s) {
      await mkdir(dirname(path), { recursive: true });
      s = createWriteStream(path);
      streams.set(path, s);
      summary.files.push(path);
      s.write(`${HEADER}\n`);
    }
    return s;
  };
  for (const row of generateRows(opts)) {
    const stream = await open(byDay ? join(out, `trips_${row.day}.csv`) : out);
    if (!stream.write(`${row.line}\n`)) await once(stream, 'drain');
    summary.rows++;
    summary.rowsPerDay[row.day] = (summary.rowsPerDay[row.day] ?? 0) + 1;
    if (row.duplicate) summary.duplicates++;
    else if (row.bad) {
      summary.badRows++;
      summary.badByKind[row.bad] = (summary.badByKind[row.bad] ?? 0) + 1;
    } else summary.goodRows++;
    if (progress && summary.rows % 1_000_000 === 0) progress(summary.rows);
  }
  if (streams.size === 0) await open(out);
  await Promise.all([...streams.values()].map((s) => new Promise((resolve, reject) => s.end((e?: Error | null) => (e ? reject(e) : resolve(undefined))))));
  summary.files.sort();
  return summary;
}
