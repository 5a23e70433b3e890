import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '@trips/core';
import { readStack, startPostgres, stopStack } from '@trips/local';
import { PostgresQueries, type WarehouseQueries } from '@trips/warehouse';
import { cliSettings } from './settings';
import { workspaceRoot } from './workspace';

/**
 * The local warehouse for a query: the PostgreSQL of the standing stack or of a `trips run` in
 * progress when one is up, otherwise the one left by earlier runs, started for this query and
 * stopped after it (after stopping whatever a killed command left running on the same folder).
 */
export async function withLocalWarehouse<T>(use: (wh: WarehouseQueries) => Promise<T>): Promise<T> {
  const settings = cliSettings(workspaceRoot());
  const running = readStack(settings.TRIPS_STATE_DIR);
  if (running) {
    const wh = new PostgresQueries(running.pg.url);
    return use(wh).finally(() => wh.close());
  }
  const dataDir = join(settings.TRIPS_STATE_DIR, 'pg', 'data');
  if (!existsSync(dataDir)) throw new UsageError(`no local warehouse under ${dataDir}: run the pipeline first (npm start, or npx trips run …)`);
  await stopStack(settings.TRIPS_STATE_DIR);
  const pg = await startPostgres({ dataDir });
  const wh = new PostgresQueries(pg.url);
  try {
    return await use(wh);
  } finally {
    await wh.close();
    await pg.stop();
  }
}
