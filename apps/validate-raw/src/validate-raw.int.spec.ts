import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataError, type TaskManifest } from '@trips/core';
import { manifestKey } from '@trips/pipeline';
import type { ObjectStore } from '@trips/storage';
import { startS3Server, type LocalS3 } from '@trips/local';
import { runValidateRaw } from './validate-raw';

const CORPUS = join(__dirname, '..', 'test-data', 'corpus');
const ROOT = join(__dirname, '..', '..', '..');
const buckets = { raw: 'raw', lake: 'lake' };
const DS = '2018-05-28';

/** Parses a small CSV written by validate-raw (no embedded line breaks in these fixtures). */
function rowsOf(text: string): string[][] {
  return text.trimEnd().split('\n').slice(1).map((l) => l.match(/("([^"]|"")*"|[^,]*)(,|$)/g)?.slice(0, -1).map((f) => f.replace(/,$/, '').replace(/^"|"$/g, '').replace(/""/g, '"')) ?? []);
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

    const rejects = rowsOf(await store.getText('lake', `quarantine/trips/ds=${DS}/rows/bad_rows.csv`)).map((r) => [r[1], r[2]]);
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

    const good = rowsOf(await store.getText('lake', `validated/trips/ds=${DS}/good_bom_crlf_quoted.csv`));
    expect(good.map((r) => [r[1], r[2], r[6]])).toEqual([
      ['2', 'Prague', 'funny_car'],
      ['3', 'Hamburg', 'cheap_mobile'],
      ['4', 'Prague, Old Town', 'pt_"search"_app'],
    ]);
    expect(rowsOf(await store.getText('lake', `validated/trips/ds=${DS}/bad_rows.csv`)).map((r) => r[1])).toEqual(['2', '3', '15']);
    // Refused files: copied byte for byte, nothing of them in validated.
    const copied = await store.getText('lake', `quarantine/trips/ds=${DS}/files/not_utf8.csv`);
    expect(Buffer.from(copied, 'latin1').length).toBeGreaterThan(0);
    expect((await store.listAll('lake', `validated/trips/ds=${DS}/`)).map((o) => o.key.split('/').pop())).toEqual(['bad_rows.csv', 'good_bom_crlf_quoted.csv']);
    expect(await store.getJson<TaskManifest>('lake', manifestKey('validate-raw', DS))).toMatchObject({ status: 'succeeded', rows: m.rows });
  });

  it('leaves exactly the same outputs when run twice', async () => {
    const snapshot = async () => Promise.all((await store.listAll('lake', 'validated/')).concat(await store.listAll('lake', 'quarantine/')).map(async (o) => [o.key, await store.getText('lake', o.key)]));
    await run();
    const first = await snapshot();
    await run();
    expect(await snapshot()).toEqual(first);
  });

  it('fails above the reject-ratio threshold after writing its outputs and a failed manifest', async () => {
    await expect(run(0.5)).rejects.toThrow(DataError);
    await expect(run(0.5)).rejects.toThrow(/reject ratio 66\.67% \(12 of 18 rows\) passes the threshold 50\.00%/);
    const m = await store.getJson<TaskManifest>('lake', manifestKey('validate-raw', DS));
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
        env: { ...process.env, ...s3.env(), TRIPS_RAW_BUCKET: 'raw', TRIPS_LAKE_BUCKET: 'lake', TRIPS_WORK_DIR: work, TSX_TSCONFIG_PATH: join(ROOT, 'tsconfig.json'), ...env },
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
    expect(gate.stderr).toContain('passes the threshold 10.00%');
  }, 60_000);
});
