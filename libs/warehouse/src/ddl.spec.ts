import { dayOfPartition, dayPartitionName, dialectSteps, loadSteps, schemaDdl, valueSets } from './ddl';
import { warehouseTables } from '@trips/pipeline';
import { AGGREGATES, PROBES_ONLY } from './aggregates';

const WAREHOUSE_TABLES = warehouseTables();

const table = (name: string) => WAREHOUSE_TABLES.find((t) => t.id === name) as (typeof WAREHOUSE_TABLES)[number];

describe('warehouse DDL and load SQL', () => {
  it('creates fact_trips with the lake columns in order, a ds column and its key', () => {
    const fact = schemaDdl('postgres').find((s) => s.includes('trips.fact_trips (')) as string;
    expect(fact).toContain('create table if not exists trips.fact_trips (\n  trip_id uuid not null,\n  trip_ts timestamp not null,\n  origin_lon double precision not null');
    // md5 keys: PostgreSQL's 16-byte uuid, Redshift's char(32); the delivery record's trip_id the same.
    expect(fact).toContain('  region_key uuid not null,');
    expect(schemaDdl('redshift').find((s) => s.includes('trips.fact_trips ('))).toContain('  trip_id char(32) not null,');
    expect(schemaDdl('postgres').find((s) => s.includes('trips.trip_redelivery ('))).toContain('  trip_id uuid not null,');
    expect(schemaDdl('redshift').find((s) => s.includes('trips.trip_redelivery ('))).toContain('  trip_id char(32) not null,');
    // Partitioned by ds on PostgreSQL, without a primary key there (it would be unique only within a day); Redshift keeps its.
    expect(fact).toContain('  ds date not null\n) partition by list (ds)');
    // The redelivery record (the deliveries but the owners'): a few rows, one table keyed by (ds, trip_id) on both.
    expect(schemaDdl('postgres').find((s) => s.includes('trips.trip_redelivery ('))).toMatch(/ {2}trip_ts timestamp not null,\n {2}primary key \(ds, trip_id\)\n\)$/);
    expect(schemaDdl('redshift').find((s) => s.includes('trips.trip_redelivery ('))).toContain('  trip_ts timestamp not null,\n  primary key (ds, trip_id)\n) diststyle key distkey (trip_id)');
    // The facts' indexes: what a load and the questions read, no other.
    expect(schemaDdl('postgres').filter((s) => s.includes(' on trips.fact_trips '))).toEqual([
      'create index if not exists fact_trips_trip_ts_idx on trips.fact_trips (trip_ts)',
      'create index if not exists fact_trips_origin_cell_x_origin_cell_y_idx on trips.fact_trips (origin_cell_x, origin_cell_y)',
      'create index if not exists fact_trips_dest_cell_x_dest_cell_y_idx on trips.fact_trips (dest_cell_x, dest_cell_y)',
    ]);
    expect(schemaDdl('redshift').find((s) => s.includes('trips.fact_trips ('))).toContain('  ds date not null,\n  primary key (trip_id)\n)');
  });

  it('names a day partition by its ds, and refuses what is not a ds', () => {
    expect(dayPartitionName('fact_trips', '2018-12-31')).toBe('fact_trips_d20181231');
    expect(() => dayPartitionName('fact_trips', "2018-12-31') or ('x")).toThrow('not a ds');
    // and reads the ds back from the name, for that table's partitions only
    expect(dayOfPartition('fact_trips', 'fact_trips_d20181231')).toBe('2018-12-31');
    expect(['fact_trips_d20181231_staged', 'other_d20181231', 'fact_trips_dx'].map((n) => dayOfPartition('fact_trips', n))).toEqual([undefined, undefined, undefined]);
  });

  it('gives Redshift distribution and sort keys instead of indexes', () => {
    const ddl = schemaDdl('redshift');
    expect(ddl.find((s) => s.includes('trips.fact_trips ('))).toMatch(/\) diststyle key distkey \(trip_id\) compound sortkey \(ds, region_key\)$/);
    expect(ddl.find((s) => s.includes('trips.dim_region ('))).toMatch(/\) diststyle all$/);
    expect(ddl.some((s) => s.startsWith('create index'))).toBe(false);
  });

  it("keeps the trip groups' cell sizes in a table of their own, filled from the dimension when empty and by each of its loads, not in an index", () => {
    expect(valueSets().map((v) => v.name)).toEqual(['dim_trip_group_cell_size_deg_values']);
    const values = 'trips.dim_trip_group_cell_size_deg_values';
    const fill = `insert into ${values} (cell_size_deg) select distinct cell_size_deg from trips.dim_trip_group where cell_size_deg is not null`;
    const pg = schemaDdl('postgres');
    expect(pg.filter((s) => s.includes(values))).toEqual([
      `create table if not exists ${values} (\n  cell_size_deg double precision not null,\n  primary key (cell_size_deg)\n)`,
      `do $backfill$ begin if not exists (select 1 from ${values}) then ${fill}; end if; end $backfill$`,
    ]);
    expect(pg.some((s) => s.includes(' on trips.dim_trip_group '))).toBe(false);
    expect(schemaDdl('redshift').filter((s) => s.includes(values))).toEqual([
      `create table if not exists ${values} (\n  cell_size_deg double precision not null,\n  primary key (cell_size_deg)\n) diststyle all`,
      `${fill} and not exists (select 1 from ${values})`,
    ]);
    // After the members, on both dialects: the staged values the set lacks.
    const add = `insert into ${values} (cell_size_deg) select distinct s.cell_size_deg from stage s where s.cell_size_deg is not null and not exists (select 1 from ${values} v where v.cell_size_deg = s.cell_size_deg)`;
    for (const dialect of ['postgres', 'redshift'] as const) expect(dialectSteps(table('dim_trip_group'), dialect).at(-1)).toEqual({ sql: add });
    expect(loadSteps(table('dim_region')).some((s) => s.sql.includes('_values'))).toBe(false);
  });

  it('merges dimensions by key; replaces a day of facts through its deliveries, leaving other days\' trips', () => {
    expect(loadSteps(table('dim_region'))).toEqual([
      { sql: 'set local enable_hashjoin = off', only: 'postgres' },
      { sql: 'set local enable_mergejoin = off', only: 'postgres' },
      {
        sql: 'insert into trips.dim_region (region_key, name) select s.region_key, s.name from (select distinct on (region_key) * from stage order by region_key) s where not exists (select 1 from trips.dim_region x where x.region_key = s.region_key)',
        count: 'inserted',
        only: 'postgres',
      },
      { sql: 'set local enable_hashjoin to default', only: 'postgres' },
      { sql: 'set local enable_mergejoin to default', only: 'postgres' },
      {
        sql: 'insert into trips.dim_region (region_key, name) select distinct s.region_key, s.name from stage s where not exists (select 1 from trips.dim_region x where x.region_key = s.region_key)',
        count: 'inserted',
        only: 'redshift',
      },
    ]);
    const fact = loadSteps(table('fact_trips')).map((s) => s.sql);
    // The trips the day delivered before: its fact rows and its redeliveries; then every delivery of those trips.
    // With day partitions (PostgreSQL) the staged trips are not copied: a view reads them from the stage.
    const [touchedTrips] = loadSteps(table('fact_trips')).filter((s) => s.sql.startsWith('create temp table touched_trips '));
    expect(touchedTrips.only).toBe('redshift');
    expect(touchedTrips.sql).toMatch(/^create temp table touched_trips .* from stage union all .* from trips\.fact_trips where ds = cast\(\$1 as date\) union select .* from trips\.trip_redelivery where ds = cast\(\$1 as date\)\) x where not exists \(select 1 from stage s /);
    const pgTouchedTrips = dialectSteps(table('fact_trips'), 'postgres').slice(0, 3).map((s) => s.sql);
    expect(pgTouchedTrips).toEqual([
      `create unlogged table touched_unstaged as ${touchedTrips.sql.replace(/^create temp table touched_trips on commit drop as select trip_id, trip_ts, 1 as staged from stage union all select x\.trip_id, x\.trip_ts, 0 as staged /, 'select x.trip_id, x.trip_ts ')}`,
      'analyze touched_unstaged',
      'create temp view touched_trips as select trip_id, trip_ts, 1 as staged from stage union all select trip_id, trip_ts, 0 as staged from touched_unstaged',
    ]);
    // Only the touched trips delivered before have an owner row on PostgreSQL's day partitions.
    const owners = loadSteps(table('fact_trips')).filter((s) => s.sql.startsWith('create temp table trip_owner '));
    expect(owners.map((s) => [s.only, / from touched_trips t (left join|join) /.exec(s.sql)?.[1]])).toEqual([
      ['postgres', 'join'],
      ['redshift', 'left join'],
    ]);
    // The redeliveries: only those that change are written, and nothing reads the record again to tell which.
    expect(fact).toContain(
      'delete from trips.trip_redelivery using redelivery_gone g where trips.trip_redelivery.trip_ts between (select lo from touched_span) and (select hi from touched_span) and trips.trip_redelivery.trip_id = g.trip_id and trips.trip_redelivery.ds = g.ds',
    );
    const redeliveries = loadSteps(table('fact_trips')).filter((s) => s.sql.startsWith('insert into trips.trip_redelivery'));
    expect(redeliveries.map((s) => s.only)).toEqual(['postgres', 'redshift']);
    for (const { sql } of redeliveries) {
      expect(sql).toMatch(/ select o\.held_ds, o\.trip_id, o\.trip_ts from trip_owner o where o\.held_ds <> cast\(\$1 as date\) and o\.ds <> o\.held_ds union all select .* from trip_owner o where o\.staged = 1 and o\.ds <> cast\(\$1 as date\) and o\.redelivered = 0( order by 1, 2)?$/);
      expect(sql).not.toMatch(/not exists|trips\.trip_redelivery\b.*trips\.trip_redelivery\b/);
    }
    expect(redeliveries.map((s) => s.sql.endsWith(' order by 1, 2'))).toEqual([true, false]);
    expect(fact.find((s) => s.startsWith('delete from trips.fact_trips'))).toMatch(/and trip_id in \(select o\.trip_id from trip_owner o where o\.held_ds is not null and \(o\.ds is null or o\.ds = cast\(\$1 as date\)\)\)$/);
    expect(fact.find((s) => s.startsWith('insert into trips.fact_trips'))).toMatch(/^insert into trips\.fact_trips \(trip_id, trip_ts, .*, dest_cell_y, ds\) select s\.trip_id, .* from stage s join trip_owner o on o\.trip_id = s\.trip_id where o\.ds = cast\(\$1 as date\)$/);
    // Nothing a load runs reads the whole fact table or the whole redelivery record: every statement
    // on them is limited to the day or the touched trips, and a lookup by trip to the span of their timestamps.
    const span = /(\w+(?:\.\w+)?)\.trip_ts between \(select lo from touched_span\) and \(select hi from touched_span\)/;
    for (const sql of fact.filter((s) => /trips\.(fact_trips|trip_redelivery)\b/.test(s))) {
      if (sql.startsWith('insert into trips.fact_trips')) expect(sql).toMatch(/from stage s join trip_owner/);
      else if (/^create temp table (touched_trips|touched_unstaged) /.test(sql)) continue; // the day's own rows: its partition (PostgreSQL) or sort key prefix (Redshift)
      else if (/^insert into trips\.trip_redelivery .* from trip_owner o .* union all select .* from trip_owner o where o\.staged = 1 and o\.ds <> cast\(\$1 as date\) and o\.redelivered = 0( order by 1, 2)?$/.test(sql)) continue; // writes, reading only temporary tables
      else if (sql.startsWith('create temp table touched_facts') && !sql.includes('touched_span')) continue; // PostgreSQL: below
      else expect(sql).toMatch(span);
    }
    // PostgreSQL reads the touched trips' fact rows of the day's own partition, and those of other days
    // the day filters name (fact_candidates), each by its day, timestamp and key, or, when they name
    // many, matches the span's as Redshift does.
    const touched = loadSteps(table('fact_trips')).filter((s) => s.sql.startsWith('create temp table touched_facts'));
    expect(touched.map((s) => s.only)).toEqual(['postgres', 'redshift']);
    expect(touched[0].candidates).toEqual({ join: touched[1].sql });
    expect(touched[1].candidates).toBeUndefined();
    // In PostgreSQL's form both are work tables of the load's schema.
    const [pgTouched] = dialectSteps(table('fact_trips'), 'postgres').filter((s) => s.candidates);
    expect(pgTouched.sql).toMatch(/^create unlogged table touched_facts as select f\.\* from trips\.fact_trips f where f\.ds = /);
    expect(pgTouched.candidates?.join).toBe(touched[1].sql.replace('create temp table touched_facts on commit drop as ', 'create unlogged table touched_facts as '));
    expect(touched[0].sql).toBe(
      'create temp table touched_facts on commit drop as select f.* from trips.fact_trips f where f.ds = cast($1 as date) union all ' +
        'select f.* from fact_candidates c cross join lateral (select * from trips.fact_trips f where f.ds = c.ds and f.trip_ts = c.trip_ts and f.trip_id = c.trip_id offset 0) f',
    );
    expect(touched[1].sql).toMatch(span);
    // The aggregates: on PostgreSQL the removed rows' sums (fact_removed: the facts that go and the
    // staged rows not kept), an upsert by key of them with the staged groups (every staged row,
    // grouped by DuckDB into a work table first), and a delete of the groups the load took trips
    // from; Redshift's UPDATE … FROM, NOT EXISTS and sweep of empty groups of fact_delta are its own.
    // The MERGEs probe each group by key: hash and merge joins are off around them, and back on after.
    const steps = loadSteps(table('fact_trips'));
    const pgSql = steps.filter((s) => s.only === 'postgres').map((s) => s.sql);
    const probesFrom = pgSql.indexOf(PROBES_ONLY.on[0]);
    expect(pgSql.slice(probesFrom, probesFrom + 2)).toEqual(PROBES_ONLY.on);
    expect(pgSql.findIndex((s) => s.startsWith('merge into'))).toBeGreaterThan(probesFrom);
    const probesTo = pgSql.indexOf(PROBES_ONLY.off[0]);
    expect(pgSql.slice(probesTo, probesTo + 2)).toEqual(PROBES_ONLY.off);
    expect(pgSql.findLastIndex((s) => s.startsWith('merge into') || s.startsWith('delete from trips.agg_'))).toBeLessThan(probesTo);
    expect(pgSql.slice(probesTo).some((s) => s.startsWith('delete from stage'))).toBe(true);
    const pg = steps.filter((s) => s.only === 'postgres' && s.sql.includes('agg_') && !s.stagedGroups).map((s) => s.sql);
    expect(pg).toHaveLength(3 * 6);
    for (const [i, a] of AGGREGATES.entries()) {
      const [removed, upsert, sweep] = pg.slice(3 * i, 3 * i + 3);
      expect(removed).toMatch(new RegExp(`^create unlogged table removed_${a.name} as select .*, sum\\(delta\\) as trips from fact_removed group by .*$`));
      expect(upsert).toMatch(
        new RegExp(
          `^merge into trips\\.${a.name} as a using \\(select \\* from \\(select .* from staged_${a.name} s full join removed_${a.name} r on .*\\) d where trips <> 0\\) d on .* when matched then update set trips = a\\.trips \\+ d\\.trips(, size_class = case when .* end)?(, region_key = .*)? when not matched then insert \\(.*\\) values \\(.*\\)$`,
        ),
      );
      expect(sweep).toMatch(new RegExp(`^delete from trips\\.${a.name} a using removed_${a.name} d where .* and a\\.trips = 0$`));
    }
    const groupSteps = steps.filter((s) => s.stagedGroups);
    expect(groupSteps.map((s) => [s.only, s.stagedGroups?.table, s.sql.split(' (')[0]])).toEqual(AGGREGATES.map((a) => ['postgres', `staged_${a.name}`, `create unlogged table staged_${a.name}`]));
    // Each staged group table is made before the statements that read it.
    for (const a of AGGREGATES) expect(steps.findIndex((s) => s.stagedGroups?.table === `staged_${a.name}`)).toBeLessThan(steps.findIndex((s) => s.sql.includes(`from staged_${a.name} s `)));
    // The staged rows the load does not keep (an earlier day owns their trips) are taken out with the
    // removed facts: the same rows as the stage sheds, before it does.
    const notKept = steps.findIndex((s) => s.sql.startsWith('insert into fact_removed '));
    expect(steps[notKept]).toMatchObject({ only: 'postgres' });
    expect(steps[notKept].sql).toMatch(/ from stage f where exists \(select 1 from trip_owner o where o\.trip_id = f\.trip_id and o\.ds <> cast\(\$1 as date\)\)$/);
    expect(notKept).toBeLessThan(steps.findIndex((s) => s.dayPartition));
    expect(steps.filter((s) => /\bfact_delta\b/.test(s.sql)).map((s) => s.only)).toEqual(['redshift', 'redshift', ...Array.from({ length: 6 }, () => ['redshift', 'redshift']).flat()]);
    expect(steps.filter((s) => s.only === 'redshift' && s.sql.includes('trips.agg_')).map((s) => s.sql.split(' ')[0])).toEqual(Array.from({ length: 6 }, () => ['update', 'insert', 'delete']).flat());
    // Day partitions (PostgreSQL): the stage is the day's new partition, and sheds the staged trips
    // an earlier day owns instead of being copied into the table; the delete leaves the day's own
    // partition, which is replaced whole.
    const [partition, ...others] = steps.filter((s) => s.dayPartition);
    expect(others).toEqual([]);
    expect(partition).toMatchObject({ only: 'postgres', dayPartition: { table: 'fact_trips', count: true }, sql: 'delete from stage s using trip_owner o where o.trip_id = s.trip_id and o.ds <> cast($1 as date)' });
    expect(steps.find((s) => s.only === 'postgres' && s.sql.startsWith('delete from trips.fact_trips'))?.sql).toContain('and trips.fact_trips.ds <> cast($1 as date) and trip_id in');
  });
});
