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
