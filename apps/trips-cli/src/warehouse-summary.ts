import { Client } from 'pg';

const TABLES = ['fact_trips', 'dim_region', 'dim_datasource', 'dim_date', 'dim_time_of_day', 'dim_trip_group'];

/** Row counts of the warehouse tables, for the end of a run. */
export async function summariseWarehouse(url: string): Promise<string> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const parts: string[] = [];
    for (const t of TABLES) {
      const exists = await client.query('select to_regclass($1) as t', [`trips.${t}`]);
      if (!exists.rows[0].t) continue;
      const { rows } = await client.query(`select count(*)::bigint as n from trips.${t}`);
      parts.push(`${t} ${Number(rows[0].n).toLocaleString('en-US')}`);
    }
    return `  warehouse rows        ${parts.length ? parts.join(', ') : '(no tables yet)'}`;
  } finally {
    await client.end();
  }
}
