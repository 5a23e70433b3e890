import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '@trips/core';
import { readStack, startKeptPostgres, startPostgres, stopStack, usingKeptPostgres } from '@trips/local';
import { PostgresQueries, schemaDdl, WAREHOUSE_SCHEMA, type WarehouseQueries } from '@trips/warehouse';
import { cliSettings } from './settings';
import { workspaceRoot } from './workspace';

/**
 * The local warehouse for a query: the PostgreSQL of the standing stack or of a `trips run` in
 * progress when one is up; else the one an earlier query left running; else the one left by earlier
 * runs, started now and kept running until idle for TRIPS_QUERY_KEEP_SECONDS (after stopping
 * whatever a killed command left running on the same folder), so a series of queries starts it once.
 */
export async function withLocalWarehouse<T>(use: (wh: WarehouseQueries, url: string) => Promise<T>): Promise<T> {
  const settings = cliSettings(workspaceRoot());
  const stateDir = settings.TRIPS_STATE_DIR;
  let url = readStack(stateDir)?.pg.url ?? usingKeptPostgres(stateDir)?.url;
  if (!url) {
    const dataDir = join(stateDir, 'pg', 'data');
    if (!existsSync(dataDir)) throw new UsageError(`no local warehouse under ${dataDir}: run the pipeline first (npm start, or npx trips run …)`);
    await stopStack(stateDir);
    if (settings.TRIPS_QUERY_KEEP_SECONDS > 0) {
      url = (await startKeptPostgres(stateDir, settings.TRIPS_QUERY_KEEP_SECONDS)).url;
    } else {
      const pg = await startPostgres({ dataDir });
      const wh = new PostgresQueries(pg.url);
      return use(wh, pg.url).finally(async () => {
        await wh.close();
        await pg.stop();
      });
    }
  }
  const wh = new PostgresQueries(url);
  // In use while the query runs: the idle time counts from its end.
  const heartbeat = setInterval(() => usingKeptPostgres(stateDir), 1000);
  try {
    return await use(wh, url);
  } finally {
    clearInterval(heartbeat);
    await wh.close();
    usingKeptPostgres(stateDir);
  }
}

/**
 * Brings a local warehouse made by an earlier version up to this one's schema before a question is
 * asked (a table or aggregate added since is created, an aggregate computed once from the facts), as
 * the next load would; a warehouse no load has made yet is left alone.
 */
export async function upgradeLocalSchema(wh: WarehouseQueries): Promise<void> {
  const [present] = await wh.query<{ n: number }>('select count(*) as n from information_schema.schemata where schema_name = $1', [WAREHOUSE_SCHEMA]);
  if (!present || present.n === 0) return;
  for (const statement of schemaDdl('postgres')) await wh.query(statement);
}
