import { readdirSync } from 'node:fs';
import { AGGREGATES, LARGE_GROUP_TRIPS } from './aggregates';
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
      if (side) expect(sql.text).toContain(`from trips.agg_weekly_${side}_cell a`);
      const used = new Set([...sql.text.matchAll(/\$(\d+)/g)].map((m) => Number(m[1])));
      expect(Math.max(...used)).toBe(sql.params.length);
      expect(used.size).toBe(sql.params.length);
      expect(sql.params.slice(0, 1)).toEqual(['2018-05-28']);
      expect(sql.params).toContain('2018-06-11');
    }
  });

  it('keeps every question in a file of its own, each naming its parameters', () => {
    const files = readdirSync(QUESTIONS_DIR).filter((f) => f.endsWith('.sql'));
    expect(files.length).toBeGreaterThanOrEqual(6);
    for (const f of files) expect(questionSql(f.replace(/\.sql$/, ''), { side: 'origin' })).toMatch(/^-- /);
  });

  it('reads the large groups by the same bound as the partial index that holds them', () => {
    const index = AGGREGATES.find((a) => a.name === 'agg_trip_group')?.postgresPartialIndex;
    expect(index?.where).toBe(`trips >= ${LARGE_GROUP_TRIPS}`);
    const bounds = [...largestGroups(10).text.matchAll(/a\.trips (>=|<) (\d+)/g)].map((m) => `${m[1]} ${m[2]}`);
    expect(bounds).toEqual([`>= ${LARGE_GROUP_TRIPS}`, `< ${LARGE_GROUP_TRIPS}`]);
  });
});
