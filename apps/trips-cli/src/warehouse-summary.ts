import { warehouseTables } from '@trips/pipeline';
import { factTable, WAREHOUSE_SCHEMA, type WarehouseQueries } from '@trips/warehouse';

/**
 * Rows from which a table's summary is PostgreSQL's estimate rather than a count: a count(*) reads
 * the whole table, and the trip groups' dimension grows with the trips (0.68 s for its 20M rows
 * at 100M trips, after every run).
 */
export const EXACT_BELOW_ROWS = 1_000_000;

/** The planner's estimate of a table's rows: its last statistics scaled to the table's size now. */
async function estimatedRows(wh: WarehouseQueries, table: string): Promise<number> {
  const [row] = await wh.query<Record<string, unknown>>(`explain (format json) select * from ${WAREHOUSE_SCHEMA}.${table}`);
  const raw = Object.values(row)[0];
  const plan = (typeof raw === 'string' ? JSON.parse(raw) : raw) as Array<{ Plan: { 'Plan Rows': number } }>;
  return plan[0].Plan['Plan Rows'];
}

/** `n` to three significant digits, written out: 20,134,567 as 20,100,000. */
const roughly = (n: number) => {
  const scale = 10 ** Math.max(0, Math.floor(Math.log10(Math.max(n, 1))) - 2);
  return (Math.round(n / scale) * scale).toLocaleString('en-US');
};

/**
 * Row counts of the warehouse tables, for the end of a run. The facts' count is the sum of the
 * weekly region aggregate, equal to it by the load's invariant (tested against a recomputation
 * after any sequence of loads): a count(*) of the facts read the whole table after every run, about
 * 0.3 s at 10M trips and growing with them. Any other table PostgreSQL estimates at `exactBelow`
 * rows or more is given as that estimate, said to be one ("about").
 */
export async function summariseWarehouse(wh: WarehouseQueries, exactBelow = EXACT_BELOW_ROWS): Promise<string> {
  const parts: string[] = [];
  const exists = async (table: string) => (await wh.query<{ t: string | null }>('select to_regclass($1) as t', [`${WAREHOUSE_SCHEMA}.${table}`]))[0].t !== null;
  const facts = factTable().id;
  for (const t of warehouseTables()) {
    if (!(await exists(t.id))) continue;
    if (t.id !== facts) {
      const estimate = await estimatedRows(wh, t.id);
      if (estimate >= exactBelow) {
        parts.push(`${t.id} about ${roughly(estimate)}`);
        continue;
      }
    }
    const fromAggregate = t.id === facts && (await exists('agg_weekly_region'));
    const [{ n }] = await wh.query<{ n: string }>(fromAggregate ? `select coalesce(sum(trips), 0) as n from ${WAREHOUSE_SCHEMA}.agg_weekly_region` : `select count(*) as n from ${WAREHOUSE_SCHEMA}.${t.id}`);
    parts.push(`${t.id} ${Number(n).toLocaleString('en-US')}`);
  }
  return `  warehouse rows        ${parts.length ? parts.join(', ') : '(no tables yet)'}`;
}
