import { readFileSync } from 'node:fs';
import { UsageError } from '@trips/core';
import { defineCommand, type Flags } from './args';
import { withLocalWarehouse } from './local-warehouse';
import { formatRows, outputFormat } from './report';

const FLAGS: Flags = {
  file: { type: 'string', value: 'PATH', description: 'read the statement from a file (e.g. one of sql/*.sql)' },
  param: { type: 'string', value: 'VALUE', repeatable: true, description: 'a value for $1, $2, … of the statement, in order (give the flag once per parameter)' },
  json: { type: 'boolean', description: 'print the rows as a JSON array of objects (the same as --format json)' },
  format: { type: 'string', value: 'FORMAT', description: 'text (default: a table), json, or csv (a header, then one line per row)' },
};

const COMMAND = {
  name: 'trips sql',
  description: `Runs one SQL statement, given quoted or with --file, on the local warehouse (PostgreSQL under .state/, schema trips).
Dates print as YYYY-MM-DD and timestamps as stored (with a zone: in UTC), whatever the machine's time zone; NULL shows as NULL.
A statement PostgreSQL refuses exits 3 with its message and where in the statement; so does a text of
several statements, and then none of them has taken effect.`,
  options: FLAGS,
  positionals: '[statement]',
};

export const sqlCommand = defineCommand(COMMAND, async ({ values, positionals }) => {
  const statement = typeof values.file === 'string' ? readStatement(values.file) : positionals[0];
  if (statement === undefined || positionals.length > (typeof values.file === 'string' ? 0 : 1)) throw new UsageError('trips sql: give exactly one SQL statement, quoted, or --file PATH');
  const format = outputFormat(values);
  await withLocalWarehouse(async (wh) => {
    // In a transaction of its own: a text refused (two statements, an error) leaves nothing behind.
    await wh.query('begin');
    try {
      const rows = await wh.query(statement, (values.param as string[] | undefined) ?? []);
      await wh.query('commit');
      process.stdout.write(formatRows(rows, format));
    } catch (e) {
      await wh.query('rollback').catch(() => undefined);
      throw e;
    }
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
