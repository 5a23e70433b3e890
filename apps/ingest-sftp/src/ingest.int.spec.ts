import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ObjectStore } from '@trips/storage';
import { startS3Server, startSftpServer, type LocalS3, type LocalSftp, type SftpServerOptions } from '@trips/local';
import { RAW_EVENTS } from '@trips/pipeline';
import { IngestFailedError, runIngestPass, type IngestOptions } from './ingest';
import { legacyStateKey, stateKey } from './state';
import { HostKeyMismatchError, StalledError } from './remote';

const buckets = { raw: 'raw', lake: 'lake' };
const DS = '2018-05-28';
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const csv = (rows: number, seed: string) =>
  Buffer.from(['region,origin_coord,destination_coord,datetime,datasource', ...Array.from({ length: rows }, (_, i) => `Prague,POINT (14.4 50.0),POINT (14.5 50.1),2018-05-28 0${i % 10}:00:00,${seed}`)].join('\n') + '\n');

describe('ingest-sftp against a real SFTP server and S3 server', () => {
  let s3: LocalS3;
  let store: ObjectStore;
  let root: string;
  let sftp: LocalSftp;
  const servers: LocalSftp[] = [];

  const server = async (extra: Partial<SftpServerOptions> = {}) => {
    const s = await startSftpServer({ root, ...extra });
    servers.push(s);
    return s;
  };
  const options = (s: LocalSftp, extra: Partial<IngestOptions> = {}): IngestOptions => ({
    connect: { host: s.host, port: s.port, username: s.username, password: s.password, hostKeySha256: s.hostKeyFingerprint },
    dir: '/inbox',
    pattern: '*.csv',
    minAgeSeconds: 0,
    stableSeconds: 0,
    after: 'leave',
    connectAttempts: 3,
    ...extra,
  });
  const deps = (extra: object = {}) => ({ store, buckets, sleep: async () => undefined, ...extra });
  const put = (rel: string, body: Buffer, mtime = Date.now() / 1000 - 3600) => {
    const path = join(root, 'inbox', rel);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, body);
    utimesSync(path, mtime, mtime);
    return body;
  };
  const rawKeys = async () => (await store.listAll('raw', 'trips/')).map((o) => o.key).sort();
  const rawSha = async (key: string) => sha(Buffer.from(await (await store.getStream('raw', key)).toArray().then((c) => Buffer.concat(c as Buffer[]))));

  beforeAll(async () => {
    s3 = await startS3Server({ buckets: ['raw', 'lake'] });
    store = s3.store();
  });
  afterAll(async () => {
    await s3.close();
  });
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'sftp-root-'));
    mkdirSync(join(root, 'inbox'));
    await store.deletePrefix('raw', 'trips/');
    await store.deletePrefix('lake', 'state/');
    await store.deletePrefix('lake', 'manifests/');
    sftp = await server();
  });
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
    await rm(root, { recursive: true, force: true });
  });

  it('lands new files from nested folders once, byte for byte; a second pass lands nothing and says so', async () => {
    const a = put('a.csv', csv(10, 'a'));
    const b = put('2018/05/b.csv', csv(20, 'b'));
    put('notes.txt', Buffer.from('not a trip file'));

    const first = await runIngestPass(deps(), options(sftp), DS);
    expect(first.details!.counts).toEqual({ seen: 2, landed: 2, skipped: 0, failed: 0, bytes: a.length + b.length });
    expect(await rawKeys()).toEqual([`trips/ingest_date=${DS}/2018/05/b.csv`, `trips/ingest_date=${DS}/a.csv`]);
    expect(await rawSha(`trips/ingest_date=${DS}/a.csv`)).toBe(sha(a));
    expect(await rawSha(`trips/ingest_date=${DS}/2018/05/b.csv`)).toBe(sha(b));
    expect(first.details!.files.find((f) => f.path === '/inbox/a.csv')?.sha256).toBe(sha(a));

    const second = await runIngestPass(deps(), options(sftp), '2018-05-29');
    expect(second.details!.counts).toEqual({ seen: 2, landed: 0, skipped: 2, failed: 0, bytes: 0 });
    expect(second.details!.skippedByReason).toEqual({ unchanged: 2 });
    expect(await rawKeys()).toHaveLength(2);
    expect(await store.getJson('lake', 'manifests/ingest_sftp/ds=2018-05-29/manifest.json')).toMatchObject({ details: { counts: { landed: 0, skipped: 2 } } });
  });

  it('writes nothing to the raw bucket but delivered files under the notified prefix, and moves an earlier version\'s state out of it', async () => {
    const a = put('a.csv', csv(10, 'a'), 1_527_000_000);
    const source = `sftp://${sftp.username}@${sftp.host}:${sftp.port}/inbox`;
    // An earlier version kept its state in the raw bucket, where each write started a run (RAW_EVENTS).
    const landed = { path: '/inbox/a.csv', size: a.length, mtime: 1_527_000_000, key: 'trips/ingest_date=2018-05-27/a.csv', status: 'landed' };
    await store.putJson('raw', legacyStateKey(source), { source, files: { '/inbox/a.csv': landed } });
    // Its record is honoured (a.csv is not landed twice), moved to the lake bucket, and removed from raw.
    expect((await runIngestPass(deps(), options(sftp), DS)).details!.counts).toMatchObject({ seen: 1, landed: 0, skipped: 1 });
    expect(await store.listAll('raw', '_ingest_state/')).toEqual([]);
    expect(await store.getJson('lake', stateKey(source))).toMatchObject({ source, files: { '/inbox/a.csv': landed } });
    put('b.csv', csv(3, 'b'));
    await runIngestPass(deps(), options(sftp), DS);
    const everything = (await store.listAll('raw', '')).map((o) => o.key);
    expect(everything.length).toBeGreaterThan(0);
    expect(everything.filter((k) => !k.startsWith(RAW_EVENTS.prefix))).toEqual([]);
  });

  it('lands a changed file again as a new version and keeps the earlier one', async () => {
    const v1 = put('a.csv', csv(10, 'v1'), 1_527_000_000);
    await runIngestPass(deps(), options(sftp), DS);
    const v2 = put('a.csv', csv(12, 'v2'), 1_527_100_000);
    const pass = await runIngestPass(deps(), options(sftp), DS);
    expect(pass.details!.counts.landed).toBe(1);
    expect(await rawKeys()).toEqual([`trips/ingest_date=${DS}/a.csv`, `trips/ingest_date=${DS}/a~1527100000.csv`]);
    expect(await rawSha(`trips/ingest_date=${DS}/a.csv`)).toBe(sha(v1));
    expect(await rawSha(`trips/ingest_date=${DS}/a~1527100000.csv`)).toBe(sha(v2));
  });

  it('leaves files that are too recent or still growing for a later pass', async () => {
    put('old.csv', csv(5, 'old'));
    put('fresh.csv', csv(5, 'fresh'), Date.now() / 1000);
    put('growing.csv', csv(5, 'growing'));
    // The size-stable wait: the file grows while ingest-sftp waits to look at it again.
    const growDuringWait = async () => appendFileSync(join(root, 'inbox', 'growing.csv'), 'Prague,POINT (1 2),POINT (3 4),2018-05-28 10:00:00,x\n');
    const pass = await runIngestPass(deps({ sleep: growDuringWait }), options(sftp, { minAgeSeconds: 60, stableSeconds: 2 }), DS);
    expect(pass.details!.counts).toMatchObject({ seen: 3, landed: 1, skipped: 2 });
    expect(pass.details!.skippedByReason).toEqual({ too_recent: 1, still_growing: 1 });
    expect(await rawKeys()).toEqual([`trips/ingest_date=${DS}/old.csv`]);

    const later = await runIngestPass(deps({ now: () => Date.now() / 1000 + 120 }), options(sftp, { minAgeSeconds: 60, stableSeconds: 2 }), DS);
    expect(later.details!.counts).toMatchObject({ landed: 2, skipped: 1 });
  });

  it('reports a file it may not read and lands the others, then fails the pass', async () => {
    put('secret.csv', csv(3, 's'));
    put('ok.csv', csv(3, 'ok'));
    const denying = await server({ deny: ['/inbox/secret.csv'] });
    const error = await runIngestPass(deps(), options(denying), DS).catch((e) => e);
    expect(error).toBeInstanceOf(IngestFailedError);
    expect(error.message).toContain('1 file(s) not landed (permission_denied 1); 1 landed');
    expect((error as IngestFailedError).outcome.details!.files.find((f) => f.path === '/inbox/secret.csv')).toMatchObject({ outcome: 'failed', reason: 'permission_denied' });
    expect(await rawKeys()).toEqual([`trips/ingest_date=${DS}/ok.csv`]);
    expect(await store.getJson('lake', `manifests/ingest_sftp/ds=${DS}/manifest.json`)).toMatchObject({ status: 'failed', details: { failedByReason: { permission_denied: 1 } } });
  });

  it('reconnects after the connection drops mid-file and lands it whole, leaving no partial object', async () => {
    const big = put('big.csv', randomBytes(12 * 1024 * 1024));
    const flaky = await server({ dropAfterBytes: 5 * 1024 * 1024 });
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    const pass = await runIngestPass(deps(), options(flaky), DS);
    expect(pass.details!.counts.landed).toBe(1);
    expect(flaky.connections()).toBe(2);
    expect(await rawKeys()).toEqual([`trips/ingest_date=${DS}/big.csv`]);
    expect(await rawSha(`trips/ingest_date=${DS}/big.csv`)).toBe(sha(big));
    // No timer of the dropped transfer outlives the pass: its stall timer (a minute by default)
    // kept a finished one-shot task from exiting. The connections' keep-alives go as they close.
    for (let i = 0; i < 50 && timers() > before; i++) await new Promise((r) => setTimeout(r, 20));
    expect(timers()).toBe(before);
  });

  it('refuses a server whose host key does not match, before reading anything', async () => {
    put('a.csv', csv(3, 'a'));
    const other = await server();
    const wrong = { ...options(sftp), connect: { ...options(sftp).connect, port: other.port } };
    const error = await runIngestPass(deps(), wrong, DS).catch((e) => e);
    expect(error).toBeInstanceOf(HostKeyMismatchError);
    expect(error.message).toContain(`the server's host key is ${other.hostKeyFingerprint}, not the configured TRIPS_SFTP_HOST_KEY_SHA256 ${sftp.hostKeyFingerprint}`);
    expect(other.connections()).toBe(1); // not retried
    expect(other.bytesServed()).toBe(0);
    expect(await rawKeys()).toEqual([]);
  });

  it('moves or deletes the remote file only after its landed copy is verified', async () => {
    put('x/a.csv', csv(3, 'a'));
    await runIngestPass(deps(), options(sftp, { after: 'move', doneDir: '/done' }), DS);
    expect(existsSync(join(root, 'inbox', 'x', 'a.csv'))).toBe(false);
    expect(readFileSync(join(root, 'done', 'x', 'a.csv')).equals(csv(3, 'a'))).toBe(true);

    put('b.csv', csv(3, 'b'));
    await runIngestPass(deps(), options(sftp, { after: 'delete' }), DS);
    expect(existsSync(join(root, 'inbox', 'b.csv'))).toBe(false);
    expect(await rawKeys()).toEqual([`trips/ingest_date=${DS}/b.csv`, `trips/ingest_date=${DS}/x/a.csv`]);
  });

  it('streams a file of hundreds of MB and lands it with the right checksum', async () => {
    const path = join(root, 'inbox', 'large.csv');
    const hash = createHash('sha256');
    const chunk = csv(20_000, 'large'); // ~1.4 MB
    writeFileSync(path, '');
    for (let i = 0; i < 200; i++) {
      appendFileSync(path, chunk);
      hash.update(chunk);
    }
    utimesSync(path, Date.now() / 1000 - 3600, Date.now() / 1000 - 3600);
    const pass = await runIngestPass(deps(), options(sftp), DS);
    expect(pass.details!.counts.bytes).toBe(chunk.length * 200);
    expect(pass.details!.files[0].sha256).toBe(hash.digest('hex'));
  }, 180_000);

  it('fails a pass whose server stops answering, naming the path, instead of waiting forever (or exiting 0 with nothing landed)', async () => {
    put('a.csv', csv(3, 'a'));
    put('stuck/b.csv', csv(3, 'b'));
    // A symlink loop in the partner's folder: listed as a link (not followed), so it stalls nothing by itself.
    symlinkSync('loop', join(root, 'inbox', 'loop'));
    const s = await server({ stall: ['/inbox/stuck'] });
    const started = Date.now();
    const pass = runIngestPass(deps(), { ...options(s, { connectAttempts: 1 }), connect: { ...options(s).connect, operationTimeoutMs: 800 } }, DS);
    await expect(pass).rejects.toThrow(StalledError);
    await expect(pass).rejects.toThrow(/list \/inbox\/stuck: no answer within 1 s; the server stopped answering/);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('fails a file the server stops serving, and lands the others', async () => {
    put('a.csv', csv(3, 'a'));
    put('slow.csv', csv(3, 'slow'));
    const s = await server({ stall: ['/inbox/slow.csv'] });
    const pass = runIngestPass(deps(), { ...options(s, { connectAttempts: 2 }), connect: { ...options(s).connect, operationTimeoutMs: 500 } }, DS);
    await expect(pass).rejects.toThrow(IngestFailedError);
    const outcome = await pass.catch((e: IngestFailedError) => e.outcome);
    expect(outcome && 'details' in outcome ? outcome.details?.failedByReason : undefined).toEqual({ stalled: 1 });
    expect(await rawKeys()).toEqual([`trips/ingest_date=${DS}/a.csv`]);
  });
});
