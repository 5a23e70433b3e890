import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { gzipSync } from 'node:zlib';
import { GateError, type TaskManifest } from '@trips/core';
import { DuckDBInstance } from '@duckdb/node-api';
import { columnNames, manifestKey, table } from '@trips/pipeline';
import type { ObjectStore } from '@trips/storage';
import { startS3Server, type LocalS3 } from '@trips/local';
import { hardRows } from '@trips/testing';
import { outputName, runValidateRaw, TASK, VALIDATED_SUFFIX } from './validate-raw';

const CORPUS = join(__dirname, '..', 'test-data', 'corpus');
const ROOT = join(__dirname, '..', '..', '..');
const buckets = { raw: 'raw', lake: 'lake' };
const DS = '2018-05-28';
/** The name validate-raw gives the outputs of a raw file of the corpus's batch. */
const out = (name: string, ds = DS) => outputName(`trips/ingest_date=${ds}/${name}`);

/** Parses a small CSV written by validate-raw (no embedded line breaks in these fixtures). */
function rowsOf(text: string): string[][] {
  return text.trimEnd().split('\n').slice(1).map((l) => l.match(/("([^"]|"")*"|[^,]*)(,|$)/g)?.slice(0, -1).map((f) => f.replace(/,$/, '').replace(/^"|"$/g, '').replace(/""/g, '"')) ?? []);
}

/**
 * A validated object's rows as text, in the order stored: it must be Parquet of the layer's columns
 * and types (the line number a BIGINT, every other column text), as the Glue table declares them.
 */
async function validatedRows(store: ObjectStore, key: string): Promise<string[][]> {
  const dir = await mkdtemp(join(tmpdir(), 'validated-'));
  const db = await DuckDBInstance.create(':memory:');
  const con = await db.connect();
  try {
    const path = join(dir, 'v.parquet');
    await store.download('lake', key, path);
    const reader = await con.runAndReadAll(`select * from read_parquet('${path}')`);
    expect(reader.columnNames()).toEqual(columnNames(table('validated_trips')));
    expect(reader.columnTypes().map(String)).toEqual(table('validated_trips').columns.map((c) => (c.type === 'bigint' ? 'BIGINT' : 'VARCHAR')));
    return reader.getRowsJS().map((r) => r.map(String));
  } finally {
    con.closeSync();
    db.closeSync();
    await rm(dir, { recursive: true, force: true });
  }
}

describe('validate-raw on a corpus of good and bad files', () => {
  let s3: LocalS3;
  let store: ObjectStore;
  let work: string;
  const run = (maxRejectRatio = 1) => runValidateRaw({ store, buckets, workDir: work, maxRejectRatio }, DS);

  beforeAll(async () => {
    s3 = await startS3Server({ buckets: ['raw', 'lake'] });
    store = s3.store();
    work = await mkdtemp(join(tmpdir(), 'validate-'));
    for (const f of readdirSync(CORPUS)) await store.put('raw', `trips/ingest_date=${DS}/${f}`, readFileSync(join(CORPUS, f)));
  });
  afterAll(async () => {
    await s3.close();
    await rm(work, { recursive: true, force: true });
  });

  it('quarantines each bad row with its reason and line, refuses bad files whole, and keeps the good rows', async () => {
    const m = await run();
    const file = (name: string) => m.files.find((f) => f.file.endsWith(`/${name}`));
    expect(file('empty.csv')).toMatchObject({ status: 'quarantined', reason: expect.stringMatching(/^empty_file/) });
    expect(file('wrong_header.csv')).toMatchObject({ status: 'quarantined', reason: expect.stringMatching(/^bad_header: line 1/) });
    expect(file('not_utf8.csv')).toMatchObject({ status: 'quarantined', reason: expect.stringMatching(/^not_utf8/) });
    expect(file('good_bom_crlf_quoted.csv')?.rows).toEqual({ read: 3, passed: 3, rejected: 0, duplicates: 0 });
    expect(file('bad_rows.csv')?.rows).toEqual({ read: 15, passed: 3, rejected: 12, duplicates: 0 });
    expect(m.rows).toEqual({ read: 18, passed: 6, rejected: 12, duplicates: 0 });

    const rejects = rowsOf(await store.getText('lake', `quarantine/trips/ds=${DS}/rows/${out('bad_rows.csv')}.csv`)).map((r) => [r[1], r[2]]);
    expect(rejects).toEqual([
      ['4', 'column_count'],
      ['5', 'column_count'],
      ['6', 'missing_region'],
      ['7', 'missing_datasource'],
      ['8', 'bad_origin_wkt'],
      ['9', 'bad_destination_wkt'],
      ['10', 'origin_out_of_range'],
      ['11', 'destination_out_of_range'],
      ['12', 'bad_datetime'],
      ['13', 'bad_datetime'],
      ['14', 'blank_line'],
      ['16', 'unterminated_quote'],
    ]);
    expect(m.rejectedByReason).toEqual({ column_count: 2, missing_region: 1, missing_datasource: 1, bad_origin_wkt: 1, bad_destination_wkt: 1, origin_out_of_range: 1, destination_out_of_range: 1, bad_datetime: 2, blank_line: 1, unterminated_quote: 1 });

    const good = (await validatedRows(store, `validated/trips/ds=${DS}/${out('good_bom_crlf_quoted.csv')}${VALIDATED_SUFFIX}`));
    expect(good.map((r) => [r[1], r[2], r[6]])).toEqual([
      ['2', 'Prague', 'funny_car'],
      ['3', 'Hamburg', 'cheap_mobile'],
      ['4', 'Prague, Old Town', 'pt_"search"_app'],
    ]);
    expect((await validatedRows(store, `validated/trips/ds=${DS}/${out('bad_rows.csv')}${VALIDATED_SUFFIX}`)).map((r) => r[1])).toEqual(['2', '3', '15']);
    // Refused files: copied byte for byte, nothing of them in validated.
    const copied = await store.getText('lake', `quarantine/trips/ds=${DS}/files/${out('not_utf8.csv')}.csv`);
    expect(Buffer.from(copied, 'latin1').length).toBeGreaterThan(0);
    expect((await store.listAll('lake', `validated/trips/ds=${DS}/`)).map((o) => o.key.split('/').pop()).sort()).toEqual([`${out('bad_rows.csv')}${VALIDATED_SUFFIX}`, `${out('good_bom_crlf_quoted.csv')}${VALIDATED_SUFFIX}`].sort());
    expect(await store.getJson<TaskManifest>('lake', manifestKey(TASK, DS))).toMatchObject({ status: 'succeeded', rows: m.rows });
  });

  it('leaves exactly the same outputs when run twice', async () => {
    // Byte for byte: the Parquet of the validated rows is the same too (no time or name in it).
    const snapshot = async () => Promise.all((await store.listAll('lake', 'validated/')).concat(await store.listAll('lake', 'quarantine/')).map(async (o) => [o.key, (await buffer(await store.getStream('lake', o.key))).toString('base64')]));
    await run();
    const first = await snapshot();
    await run();
    expect(await snapshot()).toEqual(first);
  });

  it('fails above the reject-ratio threshold after writing its outputs and a failed manifest', async () => {
    await expect(run(0.5)).rejects.toThrow(GateError);
    await expect(run(0.5)).rejects.toThrow(/reject ratio 66\.67% \(12 of 18 rows\) exceeds the threshold 50\.00%/);
    const m = await store.getJson<TaskManifest>('lake', manifestKey(TASK, DS));
    expect(m?.status).toBe('failed');
    expect(m?.rows).toEqual({ read: 18, passed: 6, rejected: 12, duplicates: 0 });
    expect(m?.error).toContain('top reasons: column_count 2, bad_datetime 2');
  });

  it('refuses a day with no raw files', async () => {
    await expect(runValidateRaw({ store, buckets, workDir: work, maxRejectRatio: 1 }, '2018-01-01')).rejects.toThrow('no raw files under s3://raw/trips/ingest_date=2018-01-01/');
  });

  it('exits 64 naming a malformed --ds, 78 naming a malformed setting, and 65 at the gate', () => {
    const cli = (args: string[], env: Record<string, string> = {}) =>
      spawnSync(process.execPath, ['--import', require.resolve('tsx'), join(ROOT, 'apps/validate-raw/src/main.ts'), ...args], {
        cwd: ROOT,
        env: { ...process.env, ...s3.env({ raw: 'raw', lake: 'lake' }), TRIPS_WORK_DIR: work, TSX_TSCONFIG_PATH: join(ROOT, 'tsconfig.json'), ...env },
        encoding: 'utf8',
      });
    const badDs = cli(['--ds', '2018-5-28']);
    expect(badDs.status).toBe(64);
    expect(badDs.stderr).toContain('--ds must be a calendar date YYYY-MM-DD, got "2018-5-28"');
    const badSetting = cli(['--ds', DS], { TRIPS_MAX_REJECT_RATIO: 'abc' });
    expect(badSetting.status).toBe(78);
    expect(badSetting.stderr).toContain('TRIPS_MAX_REJECT_RATIO is invalid');
    const gate = cli(['--ds', DS, '--max-reject-ratio', '0.1']);
    expect(gate.status).toBe(65);
    expect(gate.stderr).toContain('exceeds the threshold 10.00%');
  }, 60_000);

  describe('names, refused files and rows no later reader could take', () => {
    const HEADER = 'region,origin_coord,destination_coord,datetime,datasource';
    const row = (region: string, hour: number) => `${region},POINT (14.4 50.0),POINT (14.5 50.1),2018-06-26 ${String(hour).padStart(2, '0')}:00:00,funny_car`;
    const land = async (ds: string, files: Record<string, string | Buffer>) => {
      for (const [name, body] of Object.entries(files)) await store.put('raw', `trips/ingest_date=${ds}/${name}`, body);
    };

    it('processes every object of the batch, whatever its name: hidden-looking names, case-only differences and the same name in two folders never collide', async () => {
      const ds = '2018-06-26';
      const names = ['_b.csv', '.c.csv', 'x.csv', 'x.CSV', 'north/trips.csv', 'south/trips.csv', `it's "q" & <x>.csv`];
      await land(ds, Object.fromEntries(names.map((n, i) => [n, `${HEADER}\n${row('Prague', i)}\n${row('Turin', i)}\n`])));
      const m = await runValidateRaw({ store, buckets, workDir: work, maxRejectRatio: 0 }, ds);
      expect(m.files.map((f) => [f.file.slice(`trips/ingest_date=${ds}/`.length), f.rows.passed]).sort()).toEqual(names.map((n) => [n, 2]).sort());
      const written = await store.listAll('lake', `validated/trips/ds=${ds}/`);
      expect(written).toHaveLength(names.length);
      expect(written.map((o) => o.key.split('/').pop()).filter((n) => /^[_.]/.test(n ?? ''))).toEqual([]);
      const rows = (await Promise.all(written.map(async (o) => (await validatedRows(store, o.key))))).flat();
      expect(rows).toHaveLength(2 * names.length);
      expect(new Set(rows.map((r) => r[0]))).toEqual(new Set(names.map((n) => `trips/ingest_date=${ds}/${n}`)));
    });

    it('counts files refused whole in the gate, and fails saying so when every file is refused', async () => {
      const gzip = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xff, 0xfe, 0x80, 0x81, ...Buffer.alloc(600, 0x9c)]);
      await land('2018-06-27', { 'good.csv': `${HEADER}\n${row('Prague', 1)}\n`, 'trips.csv.gz.csv': gzip });
      await expect(runValidateRaw({ store, buckets, workDir: work, maxRejectRatio: 0.05 }, '2018-06-27')).rejects.toThrow(
        /files refused whole hold \d+\.\d+% of the batch's bytes \(1 of 2 files: trips\/ingest_date=2018-06-27\/trips\.csv\.gz\.csv\), more than the threshold 5\.00%/,
      );
      await land('2018-06-28', { 'only.csv': gzip, 'empty.csv': '' });
      await expect(runValidateRaw({ store, buckets, workDir: work, maxRejectRatio: 1 }, '2018-06-28')).rejects.toThrow(/every file of the batch was refused whole .*only\.csv: bad_gzip.*nothing to load for ds=2018-06-28/);
      expect((await store.getJson<TaskManifest>('lake', manifestKey(TASK, '2018-06-28')))?.status).toBe('failed');
    });

    it('reads a file delivered gzip-compressed, whatever its name, exactly as its text, and refuses a corrupt one whole with bad_gzip', async () => {
      const ds = '2018-06-30';
      const text = `${HEADER}\n${row('Prague', 1)}\nBerlin,POINT (1 2),nowhere,2018-06-30 01:00:00,x\n${row('Turin', 2)}\n`;
      const packed = gzipSync(text);
      // Two members, as `cat a.gz b.gz` makes: one gzip file to every reader.
      const twoMembers = Buffer.concat([gzipSync(text.slice(0, 70)), gzipSync(text.slice(70))]);
      const truncated = packed.subarray(0, packed.length - 12);
      await land(ds, { 'plain.csv': text, 'packed.csv.gz': packed, 'packed-no-ending': packed, 'two.csv.gz': twoMembers, 'cut.csv.gz': truncated, 'latin1.csv.gz': gzipSync(Buffer.from(`${HEADER}\nK\xf6ln,x,y,z,w\n`, 'latin1')) });
      const m = await runValidateRaw({ store, buckets, workDir: work, maxRejectRatio: 1 }, ds);
      const file = (name: string) => m.files.find((f) => f.file.endsWith(`/${name}`));
      const outputs = async (name: string) => ({
        valid: (await validatedRows(store, `validated/trips/ds=${ds}/${out(name, ds)}${VALIDATED_SUFFIX}`)).map((r) => r.slice(1)),
        rejects: rowsOf(await store.getText('lake', `quarantine/trips/ds=${ds}/rows/${out(name, ds)}.csv`)).map((r) => r.slice(1)),
      });
      const plain = await outputs('plain.csv');
      expect(plain.valid.map((r) => [r[0], r[1]])).toEqual([['2', 'Prague'], ['4', 'Turin']]);
      expect(plain.rejects.map((r) => [r[0], r[1]])).toEqual([['3', 'bad_destination_wkt']]);
      for (const name of ['packed.csv.gz', 'packed-no-ending', 'two.csv.gz']) {
        expect(file(name)?.rows).toEqual({ read: 3, passed: 2, rejected: 1, duplicates: 0 });
        expect(await outputs(name)).toEqual(plain);
      }
      // Bytes and hash are the delivered (compressed) ones: what the gate weighs and the audit trail names.
      expect(file('packed.csv.gz')).toMatchObject({ bytes: packed.length, sha256: createHash('sha256').update(packed).digest('hex') });
      expect(file('cut.csv.gz')).toMatchObject({ status: 'quarantined', bytes: truncated.length, reason: expect.stringMatching(/^bad_gzip: the gzip stream is corrupt after \d+ uncompressed bytes/) });
      expect(await buffer(await store.getStream('lake', `quarantine/trips/ds=${ds}/files/${out('cut.csv.gz', ds)}.gz`))).toEqual(truncated);
      expect(file('latin1.csv.gz')).toMatchObject({ status: 'quarantined', reason: expect.stringMatching(/^not_utf8: invalid UTF-8 byte sequence within uncompressed bytes/) });
      expect(m.rows).toEqual({ read: 12, passed: 8, rejected: 4, duplicates: 0 });
    });

    it('rejects, with a reason, every row a later reader would fail on, and writes the rest in canonical form', async () => {
      const ds = '2018-06-29';
      const lines = [HEADER, ...hardRows(row)];
      await land(ds, { 'hard.csv': `${lines.join('\n')}\n` });
      const m = await runValidateRaw({ store, buckets, workDir: work, maxRejectRatio: 1, tripDates: { min: '2000-01-01', max: '2019-06-29' } }, ds);
      expect(m.rejectedByReason).toEqual({ control_character: 2, field_too_long: 2, datetime_out_of_range: 1 });
      expect(m.rows).toEqual({ read: 7, passed: 2, rejected: 5, duplicates: 0 });
      const kept = (await validatedRows(store, `validated/trips/ds=${ds}/${out('hard.csv', ds)}${VALIDATED_SUFFIX}`));
      expect(kept.map((r) => [r[1], r[2], r[3]])).toEqual([
        // Line 5 holds a quoted line break: the row after it starts on line 7.
        ['7', 'Prague', 'POINT (14.4 50.0)'],
        ['8', 'Prague', 'POINT (14.4 50.0)'],
      ]);
      const rejects = await store.getText('lake', `quarantine/trips/ds=${ds}/rows/${out('hard.csv', ds)}.csv`);
      expect(rejects).toContain('Pra\\u0000gue');
      expect(rejects).not.toContain('\u0000');
    });
  });
});
