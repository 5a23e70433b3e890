import { loadStatements, schemaDdl } from './ddl';
import { WAREHOUSE_TABLES } from './port';

const table = (name: string) => WAREHOUSE_TABLES.find((t) => t.name === name) as (typeof WAREHOUSE_TABLES)[number];

describe('warehouse DDL and load SQL', () => {
  it('creates fact_trips with the lake columns in order, a ds column and its key', () => {
    const fact = schemaDdl('postgres').find((s) => s.includes('trips.fact_trips (')) as string;
    expect(fact).toContain('create table if not exists trips.fact_trips (\n  trip_id char(32) not null,\n  trip_ts timestamp not null,\n  origin_lon double precision not null');
    expect(fact).toContain('  ds date not null,\n  primary key (trip_id)\n)');
    expect(schemaDdl('postgres')).toContain('create index if not exists fact_trips_region_date_idx on trips.fact_trips (region_key, date_key)');
  });

  it('gives Redshift distribution and sort keys instead of indexes', () => {
    const ddl = schemaDdl('redshift');
    expect(ddl.find((s) => s.includes('trips.fact_trips ('))).toMatch(/\) diststyle key distkey \(trip_id\) compound sortkey \(ds, region_key\)$/);
    expect(ddl.find((s) => s.includes('trips.dim_region ('))).toMatch(/\) diststyle all$/);
    expect(ddl.some((s) => s.startsWith('create index'))).toBe(false);
  });

  it('merges dimensions by key and replaces a fact partition, skipping trips loaded under another ds', () => {
    expect(loadStatements(table('dim_region'))).toEqual({
      insert: 'insert into trips.dim_region (region_key, name) select distinct s.region_key, s.name from stage s where not exists (select 1 from trips.dim_region x where x.region_key = s.region_key)',
    });
    const fact = loadStatements(table('fact_trips'));
    expect(fact.delete).toBe('delete from trips.fact_trips where ds = $1');
    expect(fact.insert).toMatch(/^insert into trips\.fact_trips \(trip_id, trip_ts, .*, dest_cell_y, ds\) select s\.trip_id, .*, cast\(\$1 as date\) from stage s where not exists \(select 1 from trips\.fact_trips x where x\.trip_id = s\.trip_id\)$/);
  });
});
