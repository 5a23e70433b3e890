import { Client } from 'pg';
import { startPostgres, type LocalPostgres } from '@trips/local';
import { PostgresQueries, WAREHOUSE_SCHEMA } from '@trips/warehouse';
import { summariseWarehouse } from './warehouse-summary';

describe('summariseWarehouse (PostgreSQL)', () => {
  let pg: LocalPostgres;
  let sql: Client;

  beforeAll(async () => {
    pg = await startPostgres();
    sql = new Client({ connectionString: pg.url });
    await sql.connect();
    await sql.query(`create schema ${WAREHOUSE_SCHEMA}`);
    // Stand-ins of the catalog's tables by name: the summary counts rows, whatever the columns.
    await sql.query(`create table ${WAREHOUSE_SCHEMA}.dim_region (k int)`);
    await sql.query(`insert into ${WAREHOUSE_SCHEMA}.dim_region select g from generate_series(1, 3) g`);
    await sql.query(`create table ${WAREHOUSE_SCHEMA}.dim_trip_group (k int, region text)`);
    await sql.query(`insert into ${WAREHOUSE_SCHEMA}.dim_trip_group select g, 'Prague' from generate_series(1, 20000) g`);
    await sql.query(`analyze ${WAREHOUSE_SCHEMA}.dim_trip_group`);
  }, 60_000);

  afterAll(async () => {
    await sql?.end();
    await pg?.stop();
  });

  const summary = async (exactBelow?: number) => {
    const wh = new PostgresQueries(pg.url);
    try {
      return await summariseWarehouse(wh, exactBelow);
    } finally {
      await wh.close();
    }
  };

  it('counts the tables below the threshold exactly and skips the tables not there', async () => {
    expect(await summary()).toBe('  warehouse rows        dim_region 3, dim_trip_group 20,000');
  });

  it('gives a table PostgreSQL estimates past the threshold as that estimate, said to be one, tracking the rows added since its statistics', async () => {
    expect(await summary(10_000)).toBe('  warehouse rows        dim_region 3, dim_trip_group about 20,000');
    // Rows added after the statistics: the estimate scales them to the table's size now.
    await sql.query(`insert into ${WAREHOUSE_SCHEMA}.dim_trip_group select g, 'Lisbon' from generate_series(20001, 40000) g`);
    const line = await summary(10_000);
    const estimate = Number(/dim_trip_group about ([\d,]+)/.exec(line)?.[1].replace(/,/g, ''));
    expect(estimate).toBeGreaterThanOrEqual(38_000);
    expect(estimate).toBeLessThanOrEqual(42_000);
    expect(line).toContain('dim_region 3,');
  });
});
