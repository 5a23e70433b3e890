import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '@trips/core';
import { readStack, startKeptPostgres, startPostgres, stopStack, usingKeptPostgres } from '@trips/local';
import { PostgresQueries, WAREHOUSE_SCHEMA } from '@trips/warehouse';
import { cliSettings } from './settings';
import { workspaceRoot } from './workspace';

/**
 * The local warehouse for a query: the PostgreSQL of the standing stack or of a `trips run` in
 * progress when one is up; else the one an earlier query left running; else the one left by earlier
 * runs, started now and kept running until idle for TRIPS_QUERY_KEEP_SECONDS (after stopping
 * whatever a killed command left running on the same folder), so a series of queries starts it once.
 *
 * A warehouse no stack is loading is first brought up to this version's schema, as the next load
 * would (a table or aggregate added since is created, an aggregate computed once from the facts);
 * one no load has made yet is left alone. While a stack runs, its loads do that themselves.
 */
export async function withLocalWarehouse<T>(use: (wh: PostgresQueries, url: string) => Promise<T>): Promise<T> {
  const settings = cliSettings(workspaceRoot());
  const stateDir = settings.TRIPS_STATE_DIR;
  const running = readStack(stateDir)?.pg.url;
  let url = running ?? usingKeptPostgres(stateDir)?.url;
  let stop: (() => Promise<void>) | undefined;
  if (!url) {
    const dataDir = join(stateDir, 'pg', 'data');
    if (!existsSync(dataDir)) throw new UsageError(`no local warehouse under ${dataDir}: run the pipeline first (npm start, or npx trips run …)`);
    await stopStack(stateDir);
    const pg = settings.TRIPS_QUERY_KEEP_SECONDS > 0 ? await startKeptPostgres(stateDir, settings.TRIPS_QUERY_KEEP_SECONDS) : await startPostgres({ dataDir });
    url = pg.url;
    if (settings.TRIPS_QUERY_KEEP_SECONDS === 0) stop = () => pg.stop();
  }
  const wh = new PostgresQueries(url);
  // In use while the query runs: the idle time counts from its end.
  const heartbeat = setInterval(() => usingKeptPostgres(stateDir), 1000);
  try {
    if (!running) await upgradeSchema(wh);
    return await use(wh, url);
  } finally {
    clearInterval(heartbeat);
    await wh.close();
    if (stop) await stop();
    else usingKeptPostgres(stateDir);
  }
}

async function upgradeSchema(wh: PostgresQueries): Promise<void> {
  const [present] = await wh.query<{ n: number }>('select count(*) as n from information_schema.schemata where schema_name = $1', [WAREHOUSE_SCHEMA]);
  if (present && present.n > 0) await wh.ensureSchema();
}
