import type { RowCounts } from '@trips/core';
import { CsvRecordReader, toCsvLine, type CsvRecord } from './csv-records';
import { checkRow, isPlainRecord, normaliseField, visibleControls, type DateRange } from './rules';

/**
 * Rows of one raw file to check: whole records (`text` starts where one does and ends after a line
 * break), the first starting on physical line `line`. `key`: the raw file's object key, which each
 * validated and quarantined row names.
 */
export interface RowBatch {
  key: string;
  text: string;
  line: number;
  dates?: DateRange;
}

/** What checking rows yields: their validated and quarantine CSV lines, in order, and the counts. */
export interface CheckedRows {
  validated: string;
  quarantine: string;
  /** Read, passed and rejected (a file's duplicates are clean-stage's to find). */
  rows: RowCounts;
  rejectedByReason: Record<string, number>;
}

// core's emptyCounts, written out: importing @trips/core here put all of it (1 MB) into the worker
// threads' bundle, check-worker.js (23 KB without it).
export const noRows = (): CheckedRows => ({ validated: '', quarantine: '', rows: { read: 0, passed: 0, rejected: 0, duplicates: 0 }, rejectedByReason: {} });

/**
 * Checks data records (not the header) into `out`. Accepted rows are written in canonical form
 * (normaliseField); rejected ones as delivered, control characters made visible.
 */
export function checkRecords(records: CsvRecord[], key: string, dates: DateRange | undefined, out: CheckedRows): CheckedRows {
  const keyField = toCsvLine([key]);
  for (const r of records) {
    out.rows.read++;
    const plain = isPlainRecord(r.raw);
    const fields = plain ? r.fields : r.fields.map(normaliseField);
    const problem = checkRow(fields, r.unterminated, dates, plain);
    if (problem) {
      out.rows.rejected++;
      out.rejectedByReason[problem.reason] = (out.rejectedByReason[problem.reason] ?? 0) + 1;
      out.quarantine += `${toCsvLine([key, r.line, problem.reason, visibleControls(problem.detail), visibleControls(r.raw)])}\n`;
    } else {
      out.rows.passed++;
      // A plain record's text is its fields joined by commas, none of which needs quoting.
      out.validated += `${plain ? `${keyField},${r.line},${r.raw}` : toCsvLine([key, r.line, ...fields])}\n`;
    }
  }
  return out;
}

/** Checks a batch of whole records: what a worker thread of validate-raw does (check-pool.ts). */
export function checkBatch(batch: RowBatch): CheckedRows {
  const reader = new CsvRecordReader(batch.line);
  const out = noRows();
  checkRecords(reader.push(batch.text), batch.key, batch.dates, out);
  return checkRecords(reader.end(), batch.key, batch.dates, out);
}
