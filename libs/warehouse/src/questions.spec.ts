import { UsageError } from '@trips/core';
import type { Warehouse } from './port';
import { parseBox, weeklyAverage } from './questions';

/** A warehouse that must not be reached: argument checks happen before any query. */
const unreachable: Warehouse = {
  dialect: 'postgres',
  ensureSchema: async () => undefined,
  loadTable: async () => Promise.reject(new Error('not used')),
  query: async () => Promise.reject(new Error('the warehouse was queried before the arguments were checked')),
  close: async () => undefined,
};

describe('weekly-average arguments', () => {
  it.each([
    [{ bbox: '15,50,14,51' }, '--bbox: min longitude 15 is greater than max longitude 14'],
    [{ bbox: '14,51,15,50' }, '--bbox: min latitude 51 is greater than max latitude 50'],
    [{ bbox: '14,50,15' }, '--bbox must be MIN_LON,MIN_LAT,MAX_LON,MAX_LAT (four numbers), got "14,50,15"'],
    [{ bbox: '14,50,195,51' }, '--bbox must lie within longitude [-180, 180]'],
    [{ region: 'Prague', from: '2018-06-10', to: '2018-05-28' }, '--from 2018-06-10 is after --to 2018-05-28'],
    [{ region: 'Prague', from: '2018-13-01' }, '--from must be a calendar date'],
    [{ region: 'Prague', bbox: '1,2,3,4' }, 'give exactly one of --region NAME or --bbox'],
    [{}, 'give exactly one of --region NAME or --bbox'],
    [{ bbox: '1,2,3,4', match: 'either' }, '--match must be origin, destination or both, got "either"'],
  ])('refuses %j with a usage error', async (request, message) => {
    await expect(weeklyAverage(unreachable, request)).rejects.toThrow(UsageError);
    await expect(weeklyAverage(unreachable, request)).rejects.toThrow(message);
  });

  it('parses a box with spaces and negative coordinates', () => {
    expect(parseBox(' -9.2, 38.7 ,-9.1,38.8')).toEqual({ minLon: -9.2, minLat: 38.7, maxLon: -9.1, maxLat: 38.8 });
  });
});
