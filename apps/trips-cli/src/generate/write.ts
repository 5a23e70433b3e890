import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { constants, createGzip } from 'node:zlib';
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

/** A file being written: lines gathered into chunks of about 256 KiB (a write per row cost more than the rows). */
class Output {
  private pending = '';
  private constructor(
    private readonly stream: Writable,
    private readonly done: Promise<unknown>,
  ) {
    done.catch(() => undefined); // a failed write surfaces at close, not as an unhandled rejection
  }

  static open(path: string, gzip: boolean): Output {
    const file = createWriteStream(path);
    if (!gzip) return new Output(file, once(file, 'close'));
    const packer = createGzip({ level: constants.Z_BEST_SPEED });
    return new Output(packer, pipeline(packer, file));
  }

  async add(line: string): Promise<void> {
    this.pending += `${line}\n`;
    if (this.pending.length >= 1 << 18) await this.flush();
  }

  private async flush(): Promise<void> {
    const text = this.pending;
    this.pending = '';
    if (text && !this.stream.write(text)) await once(this.stream, 'drain');
  }

  async close(): Promise<void> {
    await this.flush();
    this.stream.end();
    await this.done;
  }
}

/**
 * Streams generated trips to CSV: one file at `out`, or with `byDay` one `trips_YYYY-MM-DD.csv`
 * (`.csv.gz` with `gzip`) per trip day in the folder `out`. Respects back-pressure, so memory stays
 * flat for any row count.
 */
export async function writeTrips(out: string, opts: GenerateOptions, files: { byDay?: boolean; gzip?: boolean } = {}, progress?: (rows: number) => void): Promise<Summary> {
  const summary: Summary = { rows: 0, goodRows: 0, badRows: 0, badByKind: {}, duplicates: 0, rowsPerDay: {}, files: [] };
  const outputs = new Map<string, Output>();
  const open = async (path: string) => {
    let o = outputs.get(path);
    if (!o) {
      await mkdir(dirname(path), { recursive: true });
      o = Output.open(path, files.gzip === true);
      outputs.set(path, o);
      summary.files.push(path);
      await o.add(HEADER);
    }
    return o;
  };
  for (const row of generateRows(opts)) {
    const output = await open(files.byDay ? join(out, `trips_${row.day}.csv${files.gzip ? '.gz' : ''}`) : out);
    await output.add(row.line);
    summary.rows++;
    summary.rowsPerDay[row.day] = (summary.rowsPerDay[row.day] ?? 0) + 1;
    if (row.duplicate) summary.duplicates++;
    else if (row.bad) {
      summary.badRows++;
      summary.badByKind[row.bad] = (summary.badByKind[row.bad] ?? 0) + 1;
    } else summary.goodRows++;
    if (progress && summary.rows % 1_000_000 === 0) progress(summary.rows);
  }
  if (outputs.size === 0) await open(out);
  await Promise.all([...outputs.values()].map((o) => o.close()));
  summary.files.sort();
  return summary;
}
