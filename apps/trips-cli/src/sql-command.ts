import { readFileSync } from 'node:fs';
import { UsageError } from '@trips/core';
import { defineCommand, type Flags } from './args';
import { withLocalWarehouse } from './local-warehouse';
import { table } from './report';

const FLAGS: Flags = {
  file: { type: 'string', value: 'PATH', description: 'read the statement from a file (e.g. one of sql/*.sql)' },
  param: { type: 'string', value: 'VALUE', repeatable: true, description: 'a value for $1, $2, … of the statement, in order (give the flag once per parameter)' },
  json: { type: 'boolean', description: 'print the rows as a JSON array of objects' },
};

const COMMAND = {
  name: 'trips sql',
  description: 'Runs one SQL statement, given quoted or with --file, on the local warehouse (PostgreSQL under .state/, schema trips).',
  options: FLAGS,
  positionals: '[statement]',
};

export const sqlCommand = defineCommand(COMMAND, async ({ values, positionals }) => {
  const statement = typeof values.file === 'string' ? readStatement(values.file) : positionals[0];
  if (statement === undefined || positionals.length > (typeof values.file === 'string' ? 0 : 1)) throw new UsageError('trips sql: give exactly one SQL statement, quoted, or --file PATH');
  await withLocalWarehouse(async (wh) => {
    let rows: Record<string, unknown>[];
    try {
      rows = await wh.query(statement, (values.param as string[] | undefined) ?? []);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    process.stdout.write(values.json ? `${JSON.stringify(rows, null, 2)}\n` : `${formatRows(rows)}\n`);
  });
  return 0;
});

function readStatement(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`trips sql --file ${path}: ${(e as Error).message}`);
  }
}

function formatRows(rows: Record<string, unknown>[]): string {
  if (rows.length === 0) return '(no rows)';
  const cols = Object.keys(rows[0]);
  const cell = (v: unknown) => (v === null || v === undefined ? '' : v instanceof Date ? v.toISOString() : String(v));
  return `${table([cols, ...rows.map((r) => cols.map((c) => cell(r[c])))])}\n(${rows.length} row${rows.length === 1 ? '' : 's'})`;
}
