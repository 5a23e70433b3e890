import { RAW_SUFFIXES, rawContentType } from '@trips/pipeline';
import { landingKey, type LandedFile } from './state';

const buckets = { raw: 'raw', lake: 'lake' };
const file = (relative: string) => ({ path: `/out/${relative}`, relative, size: 10, mtime: 1_530_000_000 });
const landed = (relative: string): LandedFile => ({ path: `/out/${relative}`, size: 9, mtime: 1_520_000_000, key: `trips/ingest_date=2018-06-04/${relative}`, status: 'landed' });

describe('landingKey', () => {
  it('lands a first version under its own name', () => {
    expect(landingKey(buckets, '2018-06-04', file('north/a.csv.gz'), undefined)).toBe('trips/ingest_date=2018-06-04/north/a.csv.gz');
  });

  it('puts a later version\'s mtime before the whole ending, so that the name still ends as the raw notification expects', () => {
    const key = (name: string) => landingKey(buckets, '2018-06-04', file(name), landed(name));
    expect(key('a.csv')).toBe('trips/ingest_date=2018-06-04/a~1530000000.csv');
    expect(key('a.csv.gz')).toBe('trips/ingest_date=2018-06-04/a~1530000000.csv.gz');
    expect(key('a.CSV.GZ')).toBe('trips/ingest_date=2018-06-04/a~1530000000.CSV.GZ');
    expect(key('a.txt')).toBe('trips/ingest_date=2018-06-04/a~1530000000.txt');
    for (const name of ['a.csv', 'a.csv.gz']) expect(RAW_SUFFIXES.some((s) => key(name).endsWith(s))).toBe(true);
  });

  it('stores a delivery with the content type its ending names: gzip for .gz, CSV otherwise', () => {
    expect(['a.csv', 'a~1530000000.csv', 'a.csv.gz', 'a~1530000000.CSV.GZ'].map(rawContentType)).toEqual(['text/csv', 'text/csv', 'application/gzip', 'application/gzip']);
  });
});
