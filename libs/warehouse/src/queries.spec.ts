import { readdirSync } from 'node:fs';
import { AGGREGATES, aggregateDeltaStatements, aggregateFromScratch, BLOCK_CELLS, blockOf, LARGE_GROUP_TRIPS } from './aggregates';
import { largestGroups, QUESTIONS_DIR, questionSql, weekStart, weekStarts, weeklyByBox } from './queries';

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
    for (const f of files) expect(questionSql(f.replace(/\.sql$/, ''), { side: 'origin' })).toMatch(/^-- /);
  });

  it('keeps the large groups\' column wherever an aggregate\'s trips are written, in both dialects, and reads the large groups by it', () => {
    const large = AGGREGATES.filter((a) => a.large);
    expect(large.map((a) => a.name)).toEqual(['agg_trip_group']);
    const bound = (trips: string) => `large_trips = case when ${trips} >= ${LARGE_GROUP_TRIPS} then ${trips} end`;
    for (const a of large) {
      const [upsert] = aggregateDeltaStatements('postgres').filter((s) => s.startsWith(`insert into trips.${a.name} `));
      expect(upsert).toMatch(/^insert into trips\.agg_trip_group as a \(trip_group_key, trips, large_trips\) select trip_group_key, sum\(delta\), case when sum\(delta\) >= 32 then sum\(delta\) end from fact_delta /);
      expect(upsert).toContain(`do update set trips = a.trips + excluded.trips, ${bound('a.trips + excluded.trips')}`);
      const redshift = aggregateDeltaStatements('redshift').filter((s) => s.includes(`trips.${a.name}`));
      expect(redshift.find((s) => s.startsWith('update'))).toContain(`set trips = a.trips + d.delta, ${bound('a.trips + d.delta')} from`);
      expect(redshift.find((s) => s.startsWith('insert'))).toMatch(/\(trip_group_key, trips, large_trips\) select d\.trip_group_key, d\.delta, case when d\.delta >= 32 then d\.delta end from/);
      expect(aggregateFromScratch(a)).toContain(`count(*) as trips, case when count(*) >= ${LARGE_GROUP_TRIPS} then count(*) end as large_trips from`);
    }
    expect(largestGroups(10).text).toMatch(/where a\.large_trips is not null .* order by a\.large_trips desc, a\.trip_group_key/s);
    expect(largestGroups(10).text).toMatch(/where a\.large_trips is null and .* and \(select count\(\*\) from large\) < \$1/s);
  });
});
