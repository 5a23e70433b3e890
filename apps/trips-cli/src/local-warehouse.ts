import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '@trips/core';
import { startPostgres } from '@trips/local';
import { PostgresWarehouse, type Warehouse } from '@trips/warehouse';
import { readLocalStack } from './local-stack';
import { cliSettings } from './settings';
import { workspaceRoot } from './workspace';

/** Starts the embedded warehouse left by earlier runs, runs `use` with it, and stops it. */
export async function withLocalWarehouse<T>(use: (wh: Warehouse) => Promise<T>): Promise<T> {
  const settings = cliSettings(workspaceRoot());
  const standing = readLocalStack(settings.TRIPS_STATE_DIR);
  if (standing) {
    const wh = new PostgresWarehouse(standing.pg.url, undefined, standing.workDir);
    return use(wh).finally(() => wh.close());
  }
  const dataDir = join(settings.TRIPS_STATE_DIR, 'pg', 'data');
  if (!existsSync(dataDir)) throw new UsageError(`no local warehouse under ${dataDir}: run the pipeline first (npm start, or npx trips run …)`);
  const pg = await startPostgres({ dataDir });
  const wh = new PostgresWarehouse(pg.url, undefined, join(settings.TRIPS_STATE_DIR, 'work'));
  try {
    return await use(wh);
  } finally {
    await wh.close();
    await pg.stop();
  }
}
