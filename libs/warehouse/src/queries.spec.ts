import { readdirSync } from 'node:fs';
import { AGGREGATES, aggregateDeltaStatements, aggregateFromScratch, BLOCK_CELLS, blockOf, LARGE_GROUP_TRIPS, sizeClass } from './aggregates';
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

  it('keeps the large groups\' size class wherever an aggregate\'s trips are written, in both dialects, and reads the large groups by it', () => {
    const large = AGGREGATES.filter((a) => a.large);
    expect(large.map((a) => a.name)).toEqual(['agg_trip_group']);
    const cls = (trips: string) => `case when ${trips} >= ${LARGE_GROUP_TRIPS} then cast(floor(4 * ln(cast(${trips} as double precision)) / ln(cast(2 as double precision))) as integer) end`;
    expect(sizeClass('t')).toBe(cls('t'));
    for (const a of large) {
      const [upsert] = aggregateDeltaStatements('postgres').filter((s) => s.startsWith(`insert into trips.${a.name} `));
      expect(upsert).toContain(`insert into trips.agg_trip_group as a (trip_group_key, trips, size_class) select trip_group_key, sum(delta), ${cls('sum(delta)')} from fact_delta `);
      expect(upsert).toContain(`do update set trips = a.trips + excluded.trips, size_class = ${cls('a.trips + excluded.trips')}`);
      const redshift = aggregateDeltaStatements('redshift').filter((s) => s.includes(`trips.${a.name}`));
      expect(redshift.find((s) => s.startsWith('update'))).toContain(`set trips = a.trips + d.delta, size_class = ${cls('a.trips + d.delta')} from`);
      expect(redshift.find((s) => s.startsWith('insert'))).toContain(`(trip_group_key, trips, size_class) select d.trip_group_key, d.delta, ${cls('d.delta')} from`);
      expect(aggregateFromScratch(a)).toContain(`count(*) as trips, ${cls('count(*)')} as size_class from`);
    }
    // The large groups are read from the top of the class index with a constant limit ($3), never
    // bounded by a class computed in the query, which PostgreSQL cannot estimate (it then scans).
    const { text, params } = largestGroups(10);
    expect(params).toEqual([10, '', 200]);
    expect(largestGroups(3, 'k', 3).params).toEqual([3, 'k', 3]);
    expect(() => largestGroups(10, undefined, 9)).toThrow(/read \(9\) must be at least top \(10\)/);
    expect(text).toMatch(/where a\.size_class is not null .* order by a\.size_class desc\s+limit \$3/s);
    expect(text).toMatch(/where a\.size_class >= \(select lowest from picked_class\) .* and \(select groups from read_classes\) = \$3 and/s);
    expect(text).toMatch(/where a\.size_class is null and .* and \(select groups from read_classes\) < \$1/s);
    expect(text).not.toMatch(/size_class >= \(select min/);
    expect(text).not.toContain('large_trips');
  });
});
