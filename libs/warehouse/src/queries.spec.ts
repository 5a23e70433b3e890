import { readdirSync } from 'node:fs';
import { AGGREGATES, aggregateDdl, aggregateDeltaStatements, aggregateFromScratch, BLOCK_CELLS, blockOf, LARGE_GROUP_TRIPS, sizeClass, stagedGroups, withinDimension } from './aggregates';
import { BOX_SCAN_EDGE_SHARE, boxEdgeTrips, boxMethod, largestGroups, QUESTIONS_DIR, questionSql, weekStart, weekStarts, weeklyByBox, weeklyByBoxScan } from './queries';

describe('weekly question helpers', () => {
  it('starts ISO weeks on Monday, UTC', () => {
    expect(weekStart('2018-05-28')).toBe('2018-05-28'); // a Monday
    expect(weekStart('2018-06-03')).toBe('2018-05-28'); // the Sunday after
    expect(weekStart('2019-01-01')).toBe('2018-12-31');
    expect(weekStarts('2018-05-30', '2018-06-12')).toEqual(['2018-05-28', '2018-06-04', '2018-06-11']);
  });

  it('sends the question files\' portable SQL with every value as a parameter, one per $n the file uses', () => {
    for (const [match, side] of [['origin', 'origin'], ['destination', 'dest'], ['both', undefined]] as const) {
      const sql = weeklyByBox({ minLon: 14.4, minLat: 50, maxLon: 14.5, maxLat: 50.1 }, match, 0.01, '2018-05-28', '2018-06-04');
      expect(sql.text).not.toMatch(/generate_series|::|ilike|\{\{/);
      expect(sql.text).toContain(side ? `from trips.agg_weekly_${side}_cell a` : 'from trips.agg_weekly_block_pair a');
      const used = new Set([...sql.text.matchAll(/\$(\d+)/g)].map((m) => Number(m[1])));
      expect(Math.max(...used)).toBe(sql.params.length);
      expect(used.size).toBe(sql.params.length);
      expect(sql.params.slice(0, 1)).toEqual(['2018-05-28']);
      expect(sql.params).toContain('2018-06-11');
    }
  });

  it('reads every trip of the period for a box whose edge holds more than a few percent of them, on the ends the box is matched on', () => {
    const box = { minLon: 14.4, minLat: 50.04, maxLon: 14.48, maxLat: 50.1 };
    const edge = (origin: number, dest: number) => ({ origin_edge_trips: String(origin), dest_edge_trips: String(dest), period_trips: '1000000' });
    const limit = BOX_SCAN_EDGE_SHARE * 1_000_000;
    expect(boxMethod(edge(limit, limit), 'origin')).toBe('aggregates');
    expect(boxMethod(edge(limit + 1, 0), 'origin')).toBe('scan');
    expect(boxMethod(edge(limit + 1, 0), 'destination')).toBe('aggregates');
    expect(boxMethod(edge(0, limit + 1), 'destination')).toBe('scan');
    // Both ends: the trips read along both rings.
    expect(boxMethod(edge(limit / 2, limit / 2), 'both')).toBe('aggregates');
    expect(boxMethod(edge(limit / 2, limit / 2 + 1), 'both')).toBe('scan');
    expect(boxMethod(edge(0, 0), 'origin')).toBe('aggregates');
    // The edge as each question cuts the box: cells (1) for one end, blocks for both.
    expect(boxEdgeTrips(box, 'origin', 0.01, '2018-05-28', '2018-06-04').params).toEqual(['2018-05-28', '2018-06-04', 14.4, 50.04, 14.48, 50.1, 0.01, 1]);
    expect(boxEdgeTrips(box, 'both', 0.01, '2018-05-28', '2018-06-04').params.at(-1)).toBe(BLOCK_CELLS);
    for (const [match, ends] of [['origin', ['origin']], ['destination', ['dest']], ['both', ['origin', 'dest']]] as const) {
      const sql = weeklyByBoxScan(box, match, '2018-05-28', '2018-06-04');
      expect(sql.params).toEqual(['2018-05-28', '2018-06-11', 14.4, 50.04, 14.48, 50.1]);
      expect(sql.text).not.toMatch(/generate_series|::|\{\{|agg_/);
      for (const end of ['origin', 'dest']) expect(sql.text.includes(`f.${end}_lon between b.min_lon and b.max_lon and f.${end}_lat between b.min_lat and b.max_lat`)).toBe((ends as readonly string[]).includes(end));
    }
  });

  it('cuts the box matched on both ends into the blocks the block-pair aggregate is kept by', () => {
    const [pairs] = AGGREGATES.filter((a) => a.name === 'agg_weekly_block_pair');
    expect(pairs.groupBy.map((g) => g.column)).toEqual(['week_start_date', 'origin_block_x', 'origin_block_y', 'dest_block_x', 'dest_block_y']);
    expect(pairs.groupBy[1].expr).toBe(blockOf('f.origin_cell_x'));
    const sql = questionSql('weekly_trips_box_both');
    // The file is run by hand too, so it spells the block size out: it must be the aggregate's.
    const sizes = new Set([...sql.matchAll(/\/ (\d+)\.0\)|(\d+) \* b[xy]/g)].map((m) => Number(m[1] ?? m[2])));
    expect([...sizes]).toEqual([BLOCK_CELLS]);
    expect(sql.match(/\/ \d+\.0\)/g)?.length).toBe(4);
    expect(sql.match(/\d+ \* b[xy]/g)?.length).toBe(4);
  });

  it('keeps every question in a file of its own, each naming its parameters', () => {
    const files = readdirSync(QUESTIONS_DIR).filter((f) => f.endsWith('.sql'));
    expect(files.length).toBeGreaterThanOrEqual(6);
    for (const f of files) expect(questionSql(f.replace(/\.sql$/, ''), { side: 'origin', condition: 'true' })).toMatch(/^-- /);
  });

  it('keeps the large groups\' size class and region wherever an aggregate\'s trips are written, in both dialects, and reads the large groups by them', () => {
    const large = AGGREGATES.filter((a) => a.large);
    expect(large.map((a) => a.name)).toEqual(['agg_trip_group']);
    const cls = (trips: string) => `case when ${trips} >= ${LARGE_GROUP_TRIPS} then cast(floor(4 * ln(cast(${trips} as double precision)) / ln(cast(2 as double precision))) as integer) end`;
    expect(sizeClass('t')).toBe(cls('t'));
    for (const a of large) {
      const pg = aggregateDeltaStatements('postgres').filter((s) => s.includes(`${a.name} `));
      // The region, kept while a group is large: an existing group's kept, else the load's (the
      // facts' value, which every one of the load's groups carries). The staged groups (DuckDB's
      // sums) and the removed rows' sums are added in one MERGE.
      const region = (trips: string, value: string) => `case when ${trips} >= ${LARGE_GROUP_TRIPS} then ${value} end`;
      expect(pg).toEqual([
        'create unlogged table removed_agg_trip_group as select trip_group_key, region_key, sum(delta) as trips from fact_removed group by trip_group_key, region_key',
        'merge into trips.agg_trip_group as a using (select * from ' +
          '(select coalesce(s.trip_group_key, r.trip_group_key) as trip_group_key, coalesce(s.region_key, r.region_key) as region_key, coalesce(s.trips, 0) + coalesce(r.trips, 0) as trips ' +
          'from staged_agg_trip_group s full join removed_agg_trip_group r on s.trip_group_key = r.trip_group_key) d where trips <> 0) d on a.trip_group_key = d.trip_group_key ' +
          `when matched then update set trips = a.trips + d.trips, size_class = ${cls('a.trips + d.trips')}, region_key = ${region('a.trips + d.trips', 'coalesce(a.region_key, d.region_key)')} ` +
          `when not matched then insert (trip_group_key, trips, size_class, region_key) values (d.trip_group_key, d.trips, ${cls('d.trips')}, ${region('d.trips', 'd.region_key')})`,
        'delete from trips.agg_trip_group a using removed_agg_trip_group d where a.trip_group_key = d.trip_group_key and a.trips = 0',
      ]);
      expect(stagedGroups(a)).toEqual({
        table: 'staged_agg_trip_group',
        ddl: 'create unlogged table staged_agg_trip_group (trip_group_key uuid not null, region_key uuid, trips bigint not null)',
        select: 'select f.trip_group_key as trip_group_key, f.region_key as region_key, count(*) as trips from lake f group by all order by trip_group_key',
        columns: [expect.objectContaining({ name: 'trip_group_key', md5Key: true, nullable: false }), expect.objectContaining({ name: 'region_key', md5Key: true, nullable: true }), { name: 'trips', type: 'bigint' }],
      });
      const redshift = aggregateDeltaStatements('redshift').filter((s) => s.includes(`trips.${a.name}`));
      expect(redshift.find((s) => s.startsWith('update'))).toContain(
        `set trips = a.trips + d.delta, size_class = ${cls('a.trips + d.delta')}, region_key = ${region('a.trips + d.delta', 'd.region_key')} from (select trip_group_key, region_key, sum(delta) as delta from fact_delta group by trip_group_key, region_key `,
      );
      expect(redshift.find((s) => s.startsWith('insert'))).toContain(`(trip_group_key, trips, size_class, region_key) select d.trip_group_key, d.delta, ${cls('d.delta')}, ${region('d.delta', 'd.region_key')} from`);
      expect(aggregateFromScratch(a)).toContain(`count(*) as trips, ${cls('count(*)')} as size_class, ${region('count(*)', 'f.region_key')} as region_key from trips.fact_trips f group by 1, f.region_key`);
      // Both dialects' tables hold the region (null for a small group); PostgreSQL indexes the large groups by it.
      for (const dialect of ['postgres', 'redshift'] as const) expect(aggregateDdl(dialect).find((s) => s.includes(`table if not exists trips.${a.name} `))).toMatch(/size_class integer,\n {2}region_key (uuid|char\(32\)),\n/);
      expect(aggregateDdl('postgres')).toContain(`create index if not exists agg_trip_group_region_key_size_class_idx on trips.agg_trip_group (region_key, size_class desc) where size_class is not null`);
      expect(aggregateDdl('redshift').filter((s) => s.startsWith('create index'))).toEqual([]);
      // The dimension comes from the catalog: the one the facts' group key refers to.
      expect(withinDimension(a)).toEqual({ table: 'dim_trip_group', key: 'trip_group_key' });
    }
    const weekly = AGGREGATES.find((a) => a.name === 'agg_weekly_region') as (typeof AGGREGATES)[number];
    expect(() => withinDimension({ ...weekly, large: { within: weekly.groupBy[1] } })).toThrow(/agg_weekly_region ranks its large groups within region_key, which takes one group key that the facts refer to a dimension by/);
    // The large groups are read from the top of the class index with a constant limit ($3), never
    // bounded by a class computed in the query, which PostgreSQL cannot estimate (it then scans).
    const { text, params } = largestGroups(10);
    expect(params).toEqual([10, '', 200]);
    expect(largestGroups(3, 'k', 3).params).toEqual([3, 'k', 3]);
    expect(() => largestGroups(10, undefined, 9)).toThrow(/read \(9\) must be at least top \(10\)/);
    expect(text).toMatch(/where a\.size_class is not null and \$2 = ''\s+order by a\.size_class desc\s+limit \$3/s);
    // A region's from the top of its own: the region key as the warehouse keeps it (uuid on
    // PostgreSQL), not the text of it, which no index holds.
    expect(text).toMatch(/where a\.size_class is not null and a\.region_key = \(select region_key from region\)\s+order by a\.size_class desc\s+limit \$3/s);
    expect(text).not.toMatch(/cast\(\w\.region_key as varchar\(36\)\) = \$2\s+(and|order)/);
    expect(text).toMatch(/where a\.size_class >= \(select lowest from picked_class\) .* and \(select groups from read_classes\) = \$3 and/s);
    // The rest only when the large groups are too few; of one region, those the dimension puts there.
    expect(text).toMatch(/where a\.size_class is null and \(select groups from read_classes\) < \$1\s+and \(\$2 = '' or a\.trip_group_key in \(select g\.trip_group_key from trips\.dim_trip_group g where g\.region_key = \(select region_key from region\)\)\)/s);
    expect(text).not.toMatch(/size_class >= \(select min/);
    expect(text).not.toContain('large_trips');
  });
});
