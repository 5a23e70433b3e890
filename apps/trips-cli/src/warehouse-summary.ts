import { warehouseTables } from '@trips/pipeline';
import { WAREHOUSE_SCHEMA, type WarehouseQueries } from '@trips/warehouse';

/** Row counts of the warehouse tables, for the end of a run. */
export async function summariseWarehouse(wh: WarehouseQueries): Promise<string> {
  const parts: string[] = [];
  for (const t of warehouseTables()) {
    const [exists] = await wh.query<{ t: string | null }>('select to_regclass($1) as t', [`${WAREHOUSE_SCHEMA}.${t.id}`]);
    if (!exists.t) continue;
    const [{ n }] = await wh.query<{ n: string }>(`select count(*) as n from ${WAREHOUSE_SCHEMA}.${t.id}`);
    parts.push(`${t.id} ${Number(n).toLocaleString('en-US')}`);
  }
  return `  warehouse rows        ${parts.length ? parts.join(', ') : '(no tables yet)'}`;
}
