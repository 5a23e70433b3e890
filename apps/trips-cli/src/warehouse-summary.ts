import { warehouseTables } from '@trips/pipeline';
import { factTable, WAREHOUSE_SCHEMA, type WarehouseQueries } from '@trips/warehouse';

/**
 * Row counts of the warehouse tables, for the end of a run. The facts' count is the sum of the
 * weekly region aggregate, equal to it by the load's invariant (tested against a recomputation
 * after any sequence of loads): a count(*) of the facts read the whole table after every run, about
 * 0.3 s at 10M trips and growing with them.
 */
export async function summariseWarehouse(wh: WarehouseQueries): Promise<string> {
  const parts: string[] = [];
  const exists = async (table: string) => (await wh.query<{ t: string | null }>('select to_regclass($1) as t', [`${WAREHOUSE_SCHEMA}.${table}`]))[0].t !== null;
  const facts = factTable().id;
  for (const t of warehouseTables()) {
    if (!(await exists(t.id))) continue;
    const fromAggregate = t.id === facts && (await exists('agg_weekly_region'));
    const [{ n }] = await wh.query<{ n: string }>(fromAggregate ? `select coalesce(sum(trips), 0) as n from ${WAREHOUSE_SCHEMA}.agg_weekly_region` : `select count(*) as n from ${WAREHOUSE_SCHEMA}.${t.id}`);
    parts.push(`${t.id} ${Number(n).toLocaleString('en-US')}`);
  }
  return `  warehouse rows        ${parts.length ? parts.join(', ') : '(no tables yet)'}`;
}
