import { cellRanges, weekStart, weekStarts, weeklyByBox } from './queries';

describe('weekly question helpers', () => {
  it('starts ISO weeks on Monday, UTC', () => {
    expect(weekStart('2018-05-28')).toBe('2018-05-28'); // a Monday
    expect(weekStart('2018-06-03')).toBe('2018-05-28'); // the Sunday after
    expect(weekStart('2019-01-01')).toBe('2018-12-31');
    expect(weekStarts('2018-05-30', '2018-06-12')).toEqual(['2018-05-28', '2018-06-04', '2018-06-11']);
  });

  it('splits a box into cells wholly inside and cells on its edge, including boxes on cell edges', () => {
    // Cells of 0.01 degree: a box from exactly 14.40 to 14.50 has cells 1440..1449 inside.
    const edges = cellRanges({ minLon: 14.4, minLat: 50, maxLon: 14.5, maxLat: 50.1 }, 0.01);
    expect(edges.x.inner).toEqual([1441, 1448]);
    expect(edges.x.outer).toEqual([1439, 1450]);
    const mid = cellRanges({ minLon: 14.405, minLat: 50.005, maxLon: 14.415, maxLat: 50.006 }, 0.01);
    expect(mid.x.inner[0]).toBeGreaterThan(mid.x.inner[1]); // no whole cell inside: all trips checked one by one
    expect(mid.x.outer).toEqual([1440, 1441]);
  });

  it('sends portable SQL with every number as a parameter', () => {
    const sql = weeklyByBox({ minLon: 14.4, minLat: 50, maxLon: 14.5, maxLat: 50.1 }, 'both', 0.01, '2018-05-28', '2018-06-04');
    expect(sql.text).not.toMatch(/generate_series|::|ilike/);
    expect(sql.text).toContain('from trips.fact_trips where trip_ts >= cast($1 as date) and trip_ts < cast($3 as date) and origin_lon between');
    expect(sql.text).toContain('and dest_lon between');
    const origin = weeklyByBox({ minLon: 14.4, minLat: 50, maxLon: 14.5, maxLat: 50.1 }, 'origin', 0.01, '2018-05-28', '2018-06-04');
    expect(origin.text).toContain('from trips.agg_weekly_origin_cell where week_start_date between cast($1 as date) and cast($2 as date) and origin_cell_x between');
    expect(sql.params.slice(0, 2)).toEqual(['2018-05-28', '2018-06-04']);
    expect(sql.params).toContain('2018-06-11');
    expect(origin.params).toContain('2018-06-11');
  });
});
