import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { UsageError } from '@trips/core';
import { startPostgres } from '@trips/testing';
import { helpText, parseFlags, type Flags } from './args';
import { table } from './report';
import { cliSettings } from './settings';
import { workspaceRoot } from './workspace';

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
  const settings = cliSettings(workspaceRoot());
  const dataDir = join(settings.TRIPS_STATE_DIR, 'pg', 'data');
  if (!existsSync(dataDir)) throw new UsageError(`no local warehouse under ${dataDir}: run the pipeline first (npm start, or npx trips run …)`);
  const pg = await startPostgres({ dataDir });
  try {
    const client = new Client({ connectionString: pg.url });
    await client.connect();
    try {
      const res = await client.query(statement);
      const rows = (Array.isArray(res) ? res[res.length - 1] : res).rows as Record<string, unknown>[];
      if (values.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
      else process.stdout.write(`${formatRows(rows)}\n`);
    } catch (e) {
      throw new UsageError(`trips sql: ${(e as Error).message}`);
    } finally {
      await client.end();
    }
  } finally {
    await pg.stop();
  }
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
