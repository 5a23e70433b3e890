import { createHash } from 'node:crypto';
import { timestampText } from './day-filters';
import { keyWords, TripFilter, TripKeys } from './trip-filter';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

describe('TripFilter', () => {
  it('holds every trip added, and says so of about 1 in 1,000 others at 16 bits a trip', () => {
    const n = 50_000;
    const filter = TripFilter.sizedFor(n);
    expect(filter.bytes.length * 8).toBeGreaterThanOrEqual(n * TripFilter.BITS_PER_TRIP);
    for (let i = 0; i < n; i++) filter.add(...keyWords(md5(`trip ${i}`)));
    for (let i = 0; i < n; i++) expect(filter.has(...keyWords(md5(`trip ${i}`)))).toBe(true);
    let yes = 0;
    for (let i = 0; i < 200_000; i++) if (filter.has(...keyWords(md5(`other ${i}`)))) yes++;
    // 131,072 bytes for 50,000 trips (21 bits a trip): about 1 in 4,000 expected.
    expect(yes / 200_000).toBeLessThan(0.001);
  });

  it('spreads keys that are not uniform (counters) as well as md5 keys', () => {
    const key = (i: number) => i.toString(16).padStart(32, '0');
    const filter = TripFilter.sizedFor(10_000);
    for (let i = 0; i < 10_000; i++) filter.add(...keyWords(key(i)));
    for (let i = 0; i < 10_000; i++) expect(filter.has(...keyWords(key(i)))).toBe(true);
    let yes = 0;
    for (let i = 10_000; i < 110_000; i++) if (filter.has(...keyWords(key(i)))) yes++;
    expect(yes / 100_000).toBeLessThan(0.001);
  });

  it('answers a trip hashed once (for several filters) as it answers the trip itself, whatever the filter\'s size', () => {
    const filters = [TripFilter.sizedFor(100), TripFilter.sizedFor(5_000), TripFilter.sizedFor(80_000)];
    filters.forEach((f, j) => {
      for (let i = 0; i < 2_000; i++) if (i % (j + 2) === 0) f.add(...keyWords(md5(`trip ${i}`)));
    });
    let held = 0;
    for (let i = 0; i < 4_000; i++) {
      const words = keyWords(md5(`trip ${i}`));
      const [h1, h2] = TripFilter.hashes(...words);
      for (const f of filters) {
        expect(f.hasHashed(h1, h2)).toBe(f.has(...words));
        if (f.has(...words)) held++;
      }
    }
    // Every trip added is held (1,000 + 667 + 500), and few others (the smallest filter is full).
    expect(held).toBeGreaterThanOrEqual(2_167);
  });

  it('is empty when made, and refuses a stored filter of a length that is not a power of two', () => {
    expect(TripFilter.sizedFor(0).bytes).toEqual(new Uint8Array(8));
    expect(TripFilter.sizedFor(0).has(1, 2, 3, 4)).toBe(false);
    expect(() => new TripFilter(new Uint8Array(24))).toThrow('a trip filter is a power of two bytes long, from 8 to 512 MiB: got 24');
  });
});

describe('keyWords and TripKeys', () => {
  it('read a key as four words, with or without hyphens, and give it back as a uuid', () => {
    expect(keyWords('0123456789abcdefFEDCBA9876543210')).toEqual([0x01234567, 0x89abcdef, 0xfedcba98, 0x76543210]);
    expect(keyWords('01234567-89ab-cdef-fedc-ba9876543210')).toEqual([0x01234567, 0x89abcdef, 0xfedcba98, 0x76543210]);
    expect(() => keyWords('not a key')).toThrow('not a key of 32 hex digits: not a key');
    const keys = new TripKeys(1);
    keys.push(...keyWords('0123456789abcdeffedcba9876543210'), 5);
    keys.push(...keyWords('ffffffff000000000000000000000001'), 7); // beyond the capacity given: it grows
    expect([keys.length, keys.key(0), keys.key(1), keys.micros[1]]).toEqual([2, '01234567-89ab-cdef-fedc-ba9876543210', 'ffffffff-0000-0000-0000-000000000001', 7]);
  });
});

describe('timestampText', () => {
  it('writes microseconds since 2000-01-01 as PostgreSQL reads a timestamp, to the microsecond, before 2000 too', () => {
    expect(timestampText(0)).toBe('2000-01-01 00:00:00.000000');
    expect(timestampText(582_364_800_000_001)).toBe('2018-06-15 08:00:00.000001');
    expect(timestampText(582_364_800_123_456)).toBe('2018-06-15 08:00:00.123456');
    expect(timestampText(-1)).toBe('1999-12-31 23:59:59.999999');
  });
});
