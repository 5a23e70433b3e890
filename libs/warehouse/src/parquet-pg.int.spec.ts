import { createReadStream } from 'node:fs';
import { copyFile, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DuckDBInstance } from '@duckdb/node-api';
import { Client } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { startPostgres, type LocalPostgres } from '@trips/local';
import type { Column } from '@trips/pipeline';
import type { ObjectStore } from '@trips/storage';
import { stageParquet } from './parquet-pg';
import { keyWords, TripKeys } from './trip-filter';
import { columnDdl } from './types';

/** The store's one call the staging makes, from a local folder standing for the bucket (the S3 path is tested with the S3 server in the load's tests). */
const folderStore = (dir: string) => ({ download: (_bucket: string, key: string, path: string) => copyFile(join(dir, key), path) }) as unknown as ObjectStore;

/** Every type a catalog column can have, md5 keys among the text, nullable ones too. */
const COLUMNS: Column[] = [
  { name: 'id', type: 'varchar', maxBytes: 32, md5Key: true },
  { name: 'maybe_key', type: 'varchar', maxBytes: 32, md5Key: true, nullable: true },
  { name: 'ts', type: 'timestamp' },
  { name: 'day', type: 'date', nullable: true },
  { name: 'n', type: 'integer' },
  { name: 'big', type: 'bigint', nullable: true },
  { name: 'x', type: 'double' },
  { name: 'label', type: 'varchar', maxBytes: 40, nullable: true },
];

// Values at the edges of each binary form: before 1970 and 2000 (negative high words), microseconds,
// the 4- and 8-byte bounds, multi-byte UTF-8, an empty string, nulls.
const ROWS = `select * from (values
  ('00007b4602e1388d9df8013356fe50ae', 'FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF', timestamp '2026-01-05 08:38:57.123456', date '2026-01-05', 0, 0::bigint, 14.4378, 'Praha'),
  ('80000000000000000000000000000001', null, timestamp '1999-12-31 23:59:59.999999', date '1999-12-31', -2147483648, cast(-9223372036854775808 as bigint), -9.1393, 'Lisboa — São Bento'),
  ('0123456789abcdef0123456789abcdef', '00000000000000000000000000000000', timestamp '1969-07-20 20:17:40', date '1900-02-28', 2147483647, 9223372036854775807::bigint, 1e-300, ''),
  ('fedcba9876543210fedcba9876543210', null, timestamp '2000-01-01 00:00:00', null, 1, null, -0.5, null)
) t(id, maybe_key, ts, day, n, big, x, label)`;

describe('stageParquet: the lake rows in PostgreSQL binary COPY form (DuckDB, real PostgreSQL)', () => {
  let dir: string;
  let work: string;
  let pg: LocalPostgres;
  let c: Client;

  async function parquet(name: string, select: string): Promise<void> {
    const db = await DuckDBInstance.create(':memory:');
    const con = await db.connect();
    await con.run(`copy (${select}) to '${join(dir, name)}' (format parquet)`);
    con.closeSync();
    db.closeSync();
  }

  const columnsDdl = COLUMNS.map((col) => columnDdl(col, 'postgres')).join(', ');
  const stage = (keys: string[], columns = COLUMNS) => stageParquet(folderStore(dir), 'lake', keys.map((key) => ({ key })), columns, work);

  /** Copies the staged rows into a fresh table `name` and returns them as PostgreSQL prints them. */
  async function copied(name: string, keys: string[]): Promise<string[]> {
    const staged = await stage(keys);
    if (!staged) throw new Error('nothing staged');
    await c.query(`create table ${name} (${columnsDdl})`);
    await pipeline(staged.binary(), c.query(copyFrom(`copy ${name} (${COLUMNS.map((col) => col.name).join(', ')}) from stdin (format binary)`)));
    await staged.dispose();
    return (await c.query<{ r: string }>(`select cast(t as text) as r from ${name} t order by id`)).rows.map((x) => x.r);
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'parquet-pg-'));
    work = join(dir, 'work');
    pg = await startPostgres();
    c = new Client({ connectionString: pg.url });
    await c.connect();
    await parquet('rows.parquet', ROWS);
  }, 120_000);
  afterAll(async () => {
    await c?.end();
    await pg?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('gives PostgreSQL every value as a text COPY of the same rows does, and counts the rows from the files', async () => {
    const staged = await stage(['rows.parquet']);
    expect(staged?.rows).toBe(4);
    await staged?.dispose();
    // The same rows as CSV, through PostgreSQL's own text input: what the binary form must equal.
    const db = await DuckDBInstance.create(':memory:');
    const con = await db.connect();
    const csv = join(dir, 'rows.csv');
    await con.run(`copy (${ROWS}) to '${csv}' (format csv, header false, timestampformat '%Y-%m-%d %H:%M:%S.%f')`);
    con.closeSync();
    db.closeSync();
    await c.query(`create table by_text (${columnsDdl})`);
    await pipeline(createReadStream(csv), c.query(copyFrom(`copy by_text from stdin (format csv)`)));
    const text = (await c.query<{ r: string }>('select cast(t as text) as r from by_text t order by id')).rows.map((x) => x.r);
    expect(await copied('by_binary', ['rows.parquet'])).toEqual(text);
    // And the values themselves, spelled out.
    expect(text).toEqual([
      '(00007b46-02e1-388d-9df8-013356fe50ae,ffffffff-ffff-ffff-ffff-ffffffffffff,"2026-01-05 08:38:57.123456",2026-01-05,0,0,14.4378,Praha)',
      '(01234567-89ab-cdef-0123-456789abcdef,00000000-0000-0000-0000-000000000000,"1969-07-20 20:17:40",1900-02-28,2147483647,9223372036854775807,1e-300,"")',
      '(80000000-0000-0000-0000-000000000001,,"1999-12-31 23:59:59.999999",1999-12-31,-2147483648,-9223372036854775808,-9.1393,"Lisboa — São Bento")',
      '(fedcba98-7654-3210-fedc-ba9876543210,,"2000-01-01 00:00:00",,1,,-0.5,)',
    ]);
  });

  it('reads many files and many chunks in order, and leaves nothing in its scratch folder', async () => {
    await parquet('many-a.parquet', `select lpad(to_hex(i), 32, '0') as id, null as maybe_key, timestamp '2026-01-01' + to_seconds(i) as ts, null::date as day, i::integer as n, null::bigint as big, i / 3.0 as x, null as label from range(0, 5000) t(i)`);
    await parquet('many-b.parquet', `select lpad(to_hex(i), 32, '0') as id, null as maybe_key, timestamp '2026-01-01' + to_seconds(i) as ts, null::date as day, i::integer as n, null::bigint as big, i / 3.0 as x, null as label from range(5000, 5100) t(i)`);
    const rows = await copied('many', ['many-a.parquet', 'many-b.parquet']);
    expect(rows).toHaveLength(5100);
    const [check] = (await c.query<{ bad: string }>(`select count(*) as bad from many where n <> cast(('x' || right(cast(id as text), 8)) as bit(32))::int or ts <> timestamp '2026-01-01' + n * interval '1 second' or x <> n / 3.0::float8`)).rows;
    expect(Number(check.bad)).toBe(0);
    expect(await readdir(work)).toEqual([]);
    // The keys and timestamps tapped on the way, chunk after chunk while the next is being made: row i's.
    const staged = await stage(['many-a.parquet', 'many-b.parquet']);
    if (!staged) throw new Error('nothing staged');
    const into = new TripKeys(staged.rows);
    await pipeline(staged.binary(undefined, { key: 'id', timestamp: 'ts', into }), new Writable({ write: (_chunk, _encoding, done) => done() }));
    await staged.dispose();
    expect(into.length).toBe(5100);
    const since2000 = (Date.parse('2026-01-01T00:00:00Z') - Date.parse('2000-01-01T00:00:00Z')) * 1000;
    const wrong = Array.from({ length: into.length }, (_, r) => r).filter((r) => {
      const i = into.micros[r] / 1e6 - since2000 / 1e6;
      const words = into.words.subarray(r * 4, r * 4 + 4);
      return !(Number.isInteger(i) && words[0] === 0 && words[1] === 0 && words[2] === 0 && words[3] === i);
    });
    expect(wrong).toEqual([]);
    expect(new Set(Array.from({ length: 5100 }, (_, r) => into.words[r * 4 + 3])).size).toBe(5100);
  });

  it('hands each row\'s key and timestamp to the trip keys as it streams them, leaving out rows without a key', async () => {
    const tapped = async (key: string) => {
      const staged = await stage(['rows.parquet']);
      if (!staged) throw new Error('nothing staged');
      const into = new TripKeys(staged.rows);
      await pipeline(staged.binary(undefined, { key, timestamp: 'ts', into }), new Writable({ write: (_chunk, _encoding, done) => done() }));
      await staged.dispose();
      return Array.from({ length: into.length }, (_, i) => [...into.words.subarray(i * 4, i * 4 + 4)].map((w) => w.toString(16).padStart(8, '0')).join('') + ` ${into.micros[i]}`);
    };
    // Microseconds since 2000-01-01, before it too, to the microsecond.
    const us = (iso: string) => (Date.parse(`${iso}Z`) - Date.parse('2000-01-01T00:00:00Z')) * 1000;
    const word = (key: string) => keyWords(key).map((w) => w.toString(16).padStart(8, '0')).join('');
    expect((await tapped('id')).sort()).toEqual(
      [
        `${word('00007b4602e1388d9df8013356fe50ae')} ${us('2026-01-05T08:38:57.123') + 456}`,
        `${word('80000000000000000000000000000001')} ${us('1999-12-31T23:59:59.999') + 999}`,
        `${word('0123456789abcdef0123456789abcdef')} ${us('1969-07-20T20:17:40')}`,
        `${word('fedcba9876543210fedcba9876543210')} ${us('2000-01-01T00:00:00')}`,
      ].sort(),
    );
    // The nullable key: its two null rows are not trips.
    expect((await tapped('maybe_key')).sort()).toEqual([`${'f'.repeat(32)} ${us('2026-01-05T08:38:57.123') + 456}`, `${'0'.repeat(32)} ${us('1969-07-20T20:17:40')}`].sort());
  });

  it('refuses an md5 key that is not 32 hex digits, naming the column and the value, wherever the row is', async () => {
    await c.query(`create table bad_keys (${columnsDdl})`);
    const refused = async (column: 'id' | 'maybe_key', bad: string, at = 0) => {
      // `at` good rows first: the bad one then comes chunks into the stream.
      const key = (v: string) => `case when i = ${at} then '${bad}' else ${v} end`;
      const id = `lpad(to_hex(i), 32, '0')`;
      await parquet('bad-key.parquet', `select ${column === 'id' ? key(id) : id} as id, ${column === 'maybe_key' ? key('null') : 'null'} as maybe_key, timestamp '2026-01-01' as ts, null::date as day, 1 as n, null::bigint as big, 1.0 as x, null as label from range(0, ${at + 1}) t(i)`);
      const staged = await stage(['bad-key.parquet']);
      try {
        await pipeline(staged?.binary() as NodeJS.ReadableStream, c.query(copyFrom('copy bad_keys from stdin (format binary)')));
      } catch (e) {
        return (e as Error).message;
      } finally {
        await staged?.dispose();
      }
      return 'copied';
    };
    expect(await refused('id', 'abc')).toBe('id is not an md5 key of 32 hex digits: abc');
    expect(await refused('id', 'zz007b4602e1388d9df8013356fe50ae')).toBe('id is not an md5 key of 32 hex digits: zz007b4602e1388d9df8013356fe50ae');
    // Forms a uuid's text may take but an md5 key does not: hyphens, braces, too many or too few digits.
    for (const bad of ['00007b46-02e1-388d-9df8-013356fe50ae', '{00007b4602e1388d9df8013356fe50ae}', '0123-4567-89ab-cdef-0123-456789ab', '00007b4602e1388d9df8013356fe50ae0', '']) {
      expect(await refused('maybe_key', bad, 5000)).toBe(`maybe_key is not an md5 key of 32 hex digits: ${bad}`);
    }
    expect(Number((await c.query('select count(*) as n from bad_keys')).rows[0].n)).toBe(0);
  });

  it('lets PostgreSQL refuse a null where the table wants a value, and a text longer than its column', async () => {
    await c.query(`create table strict_rows (${columnsDdl.replace('label varchar(40)', 'label varchar(4)')})`);
    const copy = async () => {
      const staged = await stage(['rows.parquet']);
      try {
        await pipeline(staged?.binary() as NodeJS.ReadableStream, c.query(copyFrom('copy strict_rows from stdin (format binary)')));
      } finally {
        await staged?.dispose();
      }
    };
    await expect(copy()).rejects.toThrow('value too long for type character varying(4)');
    await c.query(`alter table strict_rows alter column label type varchar(40), alter column day set not null`);
    await expect(copy()).rejects.toThrow('null value in column "day"');
  });

  it('runs queries of the staged files on DuckDB meanwhile, each result in binary COPY form, and disposes of the files only once they end', async () => {
    // 5,100 rows in two files: 2,550 groups, several chunks of each result.
    const staged = await stage(['many-a.parquet', 'many-b.parquet']);
    if (!staged) throw new Error('nothing staged');
    const groupColumns: Column[] = [
      { name: 'id', type: 'varchar', maxBytes: 32, md5Key: true },
      { name: 'week', type: 'date' },
      { name: 'trips', type: 'bigint' },
    ];
    const [byPair, total] = staged.grouped([
      { select: `select lpad(to_hex(n // 2), 32, '0') as id, cast(date_trunc('week', ts) as date) as week, count(*) as trips from lake group by all order by id`, columns: groupColumns },
      { select: 'select sum(n) as n from lake', columns: [{ name: 'n', type: 'bigint' }] },
    ]);
    await c.query('create table pairs (id uuid not null, week date not null, trips bigint not null)');
    await pipeline(Readable.from(await byPair, { objectMode: false }), c.query(copyFrom('copy pairs (id, week, trips) from stdin (format binary)')));
    await c.query('create table total (n bigint)');
    await pipeline(Readable.from(await total, { objectMode: false }), c.query(copyFrom('copy total (n) from stdin (format binary)')));
    await staged.dispose();
    // What PostgreSQL groups from the rows themselves.
    const expected = await c.query<{ r: string }>(
      `select cast(t as text) as r from (select cast(lpad(to_hex(n / 2), 32, '0') as uuid) as id, cast(date_trunc('week', ts) as date) as week, count(*) as trips from many group by 1, 2) t order by 1`,
    );
    const got = await c.query<{ r: string }>('select cast(t as text) as r from pairs t order by 1');
    expect(got.rows).toHaveLength(2550);
    expect(got.rows).toEqual(expected.rows);
    expect((await c.query<{ n: string }>('select n from total')).rows).toEqual([{ n: String((5099 * 5100) / 2) }]);
    expect(await readdir(work)).toEqual([]);
    // Disposed while its queries still run: they end first, and their results stand.
    const again = await stage(['many-a.parquet', 'many-b.parquet']);
    const [late] = again?.grouped([{ select: 'select count(*) as trips from lake', columns: [{ name: 'trips', type: 'bigint' }] }]) ?? [];
    await again?.dispose();
    expect(Buffer.concat(await late).length).toBeGreaterThan(0);
    expect(await readdir(work)).toEqual([]);
  });

  it('no files: nothing to stage', async () => {
    expect(await stage([])).toBeUndefined();
  });
});
