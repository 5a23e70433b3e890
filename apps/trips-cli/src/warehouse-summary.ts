import { WAREHOUSE_SCHEMA, WAREHOUSE_TABLES, type Warehouse } from '@trips/warehouse';

/** Row counts of the warehouse tables, for the end of a run. */
export async function summariseWarehouse(wh: Warehouse): Promise<string> {
  const parts: string[] = [];
  for (const t of WAREHOUSE_TABLES) {
    const [exists] = await wh.query<{ t: string | null }>('select to_regclass($1) as t', [`${WAREHOUSE_SCHEMA}.${t.name}`]);
    if (!exists.t) continue;
    const [{ n }] = await wh.query<{ n: string }>(`select count(*) as n from ${WAREHOUSE_SCHEMA}.${t.name}`);
    parts.push(`${t.name} ${Number(n).toLocaleString('en-US')}`);
  }
  return `  warehouse rows        ${parts.length ? parts.join(', ') : '(no tables yet)'}`;
}
