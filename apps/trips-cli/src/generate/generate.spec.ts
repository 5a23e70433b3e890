import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { CITIES, HEADER, generateRows, writeTrips } from './index';

const opts = { seed: 11, rows: 5000, start: '2018-05-28', days: 14, badRatio: 0.05, duplicateRatio: 0.04 };
const WKT = /^POINT \((-?\d+(?:\.\d+)?(?:e-?\d+)?) (-?\d+(?:\.\d+)?(?:e-?\d+)?)\)$/;

describe('trip generator', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'trips-gen-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('is deterministic for a seed and differs between seeds', () => {
    const a = [...generateRows(opts)].map((r) => r.line);
    const b = [...generateRows(opts)].map((r) => r.line);
    const c = [...generateRows({ ...opts, seed: 12 })].map((r) => r.line);
    expect(a).toEqual(b);
    expect(c).not.toEqual(a);
  });

  it('writes good rows in the input format near their region, and counts bad rows and duplicates exactly', async () => {
    const out = join(dir, 'one.csv');
    const summary = await writeTrips(out, opts);
    const [header, ...lines] = (await readFile(out, 'utf8')).trimEnd().split('\n');
    expect(header).toBe(HEADER);
    expect(lines).toHaveLength(5000);
    expect(summary.goodRows + summary.badRows + summary.duplicates).toBe(5000);
    expect(summary.badRows / 5000).toBeGreaterThan(0.03);
    expect(summary.badRows / 5000).toBeLessThan(0.07);
    expect(Object.keys(summary.badByKind).sort()).toEqual(['bad_datetime', 'bad_wkt', 'blank_datasource', 'blank_region', 'column_count', 'out_of_range']);

    const rows = [...generateRows(opts)];
    const seen = new Set<string>();
    let duplicates = 0;
    for (const row of rows) {
      if (row.duplicate) {
        expect(seen.has(row.line)).toBe(true);
        duplicates++;
        continue;
      }
      seen.add(row.line);
      if (row.bad) continue;
      const [region, origin, dest, datetime, datasource] = row.line.split(',');
      const city = CITIES.find((c) => c.region === region);
      expect(city).toBeDefined();
      for (const p of [origin, dest]) {
        const m = WKT.exec(p);
        expect(m).not.toBeNull();
        expect(Math.abs(Number(m?.[1]) - (city?.lon ?? 0))).toBeLessThan(0.5);
        expect(Math.abs(Number(m?.[2]) - (city?.lat ?? 0))).toBeLessThan(0.3);
      }
      expect(datetime).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
      expect(datetime >= '2018-05-28' && datetime < '2018-06-11').toBe(true);
      expect(city?.datasources.map((d) => d.value)).toContain(datasource);
    }
    expect(duplicates).toBe(summary.duplicates);
  });

  it('splits by trip day into one file per day', async () => {
    const out = join(dir, 'by-day');
    const summary = await writeTrips(out, { ...opts, rows: 2000, badRatio: 0, duplicateRatio: 0 }, { byDay: true });
    const files = (await readdir(out)).sort();
    expect(files).toHaveLength(14);
    expect(files[0]).toBe('trips_2018-05-28.csv');
    const first = (await readFile(join(out, files[0]), 'utf8')).trimEnd().split('\n');
    expect(first.length - 1).toBe(summary.rowsPerDay['2018-05-28']);
    expect(first.slice(1).every((l) => l.includes(',2018-05-28 '))).toBe(true);
  });

  it('writes with --gzip the same text, gzip-compressed, named .csv.gz per day', async () => {
    const plain = join(dir, 'plain-by-day');
    const packed = join(dir, 'gzip-by-day');
    const day = { ...opts, rows: 3000 };
    await writeTrips(plain, day, { byDay: true });
    const summary = await writeTrips(packed, day, { byDay: true, gzip: true });
    const files = (await readdir(packed)).sort();
    expect(files).toEqual((await readdir(plain)).sort().map((f) => `${f}.gz`));
    expect(summary.files.map((f) => basename(f))).toEqual(files);
    for (const f of files) expect(gunzipSync(await readFile(join(packed, f))).toString('utf8')).toBe(await readFile(join(plain, f.replace(/\.gz$/, '')), 'utf8'));
  });
});
