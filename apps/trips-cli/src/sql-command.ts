import { readFileSync } from 'node:fs';
import { UsageError } from '@trips/core';
import { helpText, parseFlags, type Flags } from './args';
import { withLocalWarehouse } from './local-warehouse';
import { table } from './report';

const FLAGS: Flags = {
  file: { type: 'string', description: 'read the statement from a file (e.g. one of sql/*.sql)' },
  json: { type: 'boolean', description: 'print the rows as a JSON array of objects' },
};

export const SQL_HELP = helpText('trips sql ("SELECT …" | --file PATH) [--json]', 'Runs one SQL statement on the local warehouse (PostgreSQL under .state/, schema trips).', FLAGS);

export async function sqlCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags('sql', FLAGS, argv, true);
  if (values.help) {
    process.stdout.write(`${SQL_HELP}\n`);
    return 0;
  }
  const statement = typeof values.file === 'string' ? readStatement(values.file) : positionals[0];
  if (statement === undefined || positionals.length > (typeof values.file === 'string' ? 0 : 1)) throw new UsageError('trips sql: give exactly one SQL statement, quoted, or --file PATH');
  await withLocalWarehouse(async (wh) => {
    let rows: Record<string, unknown>[];
    try {
      rows = await wh.query(statement);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    process.stdout.write(values.json ? `${JSON.stringify(rows, null, 2)}\n` : `${formatRows(rows)}\n`);
  });
  return 0;
}

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
