import { UsageError } from '@trips/core';
import type { WarehouseQueries } from './port';
import { weeklyAverage, type WeeklyRequest } from './questions';

/** A warehouse that must not be reached: argument checks happen before any query. */
const unreachable: WarehouseQueries = {
  dialect: 'postgres',
  query: async () => Promise.reject(new Error('the warehouse was queried before the arguments were checked')),
  close: async () => undefined,
};
const box = (minLon: number, minLat: number, maxLon: number, maxLat: number) => ({ minLon, minLat, maxLon, maxLat });

describe('weekly-average arguments', () => {
  it.each<[WeeklyRequest, string]>([
    [{ area: { box: box(15, 50, 14, 51), match: 'origin' } }, 'box: min longitude 15 is greater than max longitude 14'],
    [{ area: { box: box(14, 51, 15, 50), match: 'origin' } }, 'box: min latitude 51 is greater than max latitude 50'],
    [{ area: { box: box(14, 50, NaN, 51), match: 'origin' } }, 'box: every corner must be a number'],
    [{ area: { box: box(14, 50, 195, 51), match: 'origin' } }, 'box: must lie within longitude [-180, 180]'],
    [{ area: { region: 'Prague' }, from: '2018-06-10', to: '2018-05-28' }, 'the period starts (2018-06-10) after it ends (2018-05-28)'],
    [{ area: { region: 'Prague' }, from: '2018-13-01' }, 'from must be a calendar date'],
    [{ area: { box: box(1, 2, 3, 4), match: 'either' as never } }, 'match must be origin, destination or both, got "either"'],
  ])('refuses %j with a usage error', async (request, message) => {
    await expect(weeklyAverage(unreachable, request)).rejects.toThrow(UsageError);
    await expect(weeklyAverage(unreachable, request)).rejects.toThrow(message);
  });
});

describe('weekly-average by box, asked', () => {
  /** A warehouse that records each statement and whether it was asked for reuse, answering the box's few lookups. */
  const recording = (edge: { origin_edge_trips: number; dest_edge_trips: number; period_trips: number }) => {
    const asked: Array<{ sql: string; reuse: boolean }> = [];
    const wh: WarehouseQueries = {
      dialect: 'postgres',
      query: async <T>(sql: string, _params?: unknown[], options?: { reuse?: boolean }) => {
        asked.push({ sql, reuse: options?.reuse === true });
        if (sql.includes('as first_week')) return [{ first_week: '2018-06-04', last_week: '2018-06-11' }] as T[];
        if (sql.includes('as min_deg')) return [{ min_deg: 0.01, max_deg: 0.01 }] as T[];
        if (sql.includes('as origin_edge_trips')) return [edge] as T[];
        return [{ week_start_date: '2018-06-04', trips: 7 }] as T[];
      },
      close: async () => undefined,
    };
    return { wh, asked };
  };

  it('plans the scan of every trip afresh each time, and keeps the aggregates\' question prepared', async () => {
    // A busy edge: the scan. A prepared scan got a generic plan that read the facts through an index.
    const busy = recording({ origin_edge_trips: 90, dest_edge_trips: 0, period_trips: 100 });
    const scanned = await weeklyAverage(busy.wh, { area: { box: box(14.4, 50.04, 14.48, 50.1), match: 'origin' } });
    expect(scanned.method).toBe('scan');
    expect(scanned.totalTrips).toBe(7);
    const last = busy.asked[busy.asked.length - 1];
    expect(last.sql).toContain('counted by reading every trip of the period');
    expect(last.reuse).toBe(false);
    // A quiet edge: the aggregates, prepared.
    const quiet = recording({ origin_edge_trips: 0, dest_edge_trips: 0, period_trips: 100 });
    expect((await weeklyAverage(quiet.wh, { area: { box: box(14.22, 49.94, 14.71, 50.18), match: 'origin' } })).method).toBe('aggregates');
    expect(quiet.asked[quiet.asked.length - 1]).toMatchObject({ reuse: true });
    expect(quiet.asked.every((a) => a.reuse)).toBe(true);
  });
});
