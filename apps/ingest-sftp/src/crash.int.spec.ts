import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ObjectStore } from '@trips/storage';
import { sftpSettings, startS3Server, startSftpServer, type LocalS3, type LocalSftp } from '@trips/local';

const ROOT = join(__dirname, '..', '..', '..');
const DS = '2018-05-28';
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** The app as ECS or Airflow runs it: its own process, configured by environment variables. */
function startApp(env: Record<string, string>, extra: string[] = []): { child: ChildProcess; done: Promise<{ code: number | null; signal: string | null; out: string }> } {
  const child = spawn(process.execPath, ['--import', pathToFileURL(require.resolve('tsx')).href, join(ROOT, 'apps', 'ingest-sftp', 'src', 'main.ts'), '--ds', DS, ...extra], {
    env: { ...process.env, ...env, TSX_TSCONFIG_PATH: join(ROOT, 'tsconfig.json') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (out += d));
  const done = new Promise<{ code: number | null; signal: string | null; out: string }>((r) => child.on('close', (code, signal) => r({ code, signal, out })));
  return { child, done };
}

describe('ingest-sftp as a process', () => {
  let s3: LocalS3;
  let store: ObjectStore;
  let root: string;
  let sftp: LocalSftp;

  beforeAll(async () => {
    s3 = await startS3Server({ buckets: ['raw', 'lake'] });
    store = s3.store();
    root = await mkdtemp(join(tmpdir(), 'sftp-crash-'));
  });
  afterAll(async () => {
    await sftp?.close();
    await s3.close();
    await rm(root, { recursive: true, force: true });
  });

  it('lands every file exactly once with the right bytes when run again, and leaves no partial object', async () => {
    const files: Record<string, Buffer> = { 'a.csv': randomBytes(200_000), 'b/big.csv': randomBytes(16 * 1024 * 1024), 'c.csv': randomBytes(300_000) };
    for (const [rel, body] of Object.entries(files)) {
      mkdirSync(join(root, 'in', rel, '..'), { recursive: true });
      writeFileSync(join(root, 'in', rel), body);
      utimesSync(join(root, 'in', rel), 1_527_000_000, 1_527_000_000);
    }
    // Slow enough (4 MiB/s) that the kill lands in the middle of b/big.csv.
    sftp = await startSftpServer({ root, bytesPerSecond: 4 * 1024 * 1024 });
    const env = {
      ...s3.env({ raw: 'raw', lake: 'lake' }),
      ...sftpSettings(sftp, '/in', { minAgeSeconds: 0, stableSeconds: 0 }),
      LOG_LEVEL: 'info',
    };

    const first = startApp(env);
    const bigStarted = files['a.csv'].length + 4 * 1024 * 1024;
    while (sftp.bytesServed() < bigStarted) await new Promise((r) => setTimeout(r, 50));
    first.child.kill('SIGKILL');
    const killed = await first.done;
    expect(killed.signal).toBe('SIGKILL');
    const afterKill = (await store.listAll('raw', 'trips/')).map((o) => o.key);
    expect(afterKill).not.toContain(`trips/ingest_date=${DS}/b/big.csv`); // no partial object

    const second = await startApp(env).done;
    expect({ code: second.code, out: second.code === 0 ? '' : second.out }).toEqual({ code: 0, out: '' });
    const summary = JSON.parse(second.out.trim().split('\n').at(-1) as string);
    expect(summary).toMatchObject({ task: 'ingest_sftp', ds: DS, status: 'succeeded' });

    const objects = await store.listAll('raw', 'trips/');
    expect(objects.map((o) => o.key).sort()).toEqual(Object.keys(files).map((rel) => `trips/ingest_date=${DS}/${rel}`).sort());
    for (const [rel, body] of Object.entries(files)) {
      const landed = Buffer.concat((await (await store.getStream('raw', `trips/ingest_date=${DS}/${rel}`)).toArray()) as Buffer[]);
      expect({ rel, sha256: sha(landed) }).toEqual({ rel, sha256: sha(body) });
    }
    // A third pass finds everything landed.
    const third = await startApp(env).done;
    expect(JSON.parse(third.out.trim().split('\n').at(-1) as string).counts).toMatchObject({ seen: 3, landed: 0, skipped: 3 });
  }, 120_000);

  it('with --watch lands a file within seconds of its arrival and stops cleanly on SIGTERM', async () => {
    const watched = await startSftpServer({ root: join(root, 'watch') });
    mkdirSync(join(root, 'watch', 'in'), { recursive: true });
    const env = {
      ...s3.env({ raw: 'raw', lake: 'lake' }),
      ...sftpSettings(watched, '/in', { minAgeSeconds: 0, stableSeconds: 0.5 }),
      TRIPS_SFTP_POLL_SECONDS: '0.5',
    };
    const app = startApp(env, ['--watch']);
    try {
      // The watcher is up and has made a pass over the empty folder before the file arrives.
      while (watched.connections() < 1) await new Promise((r) => setTimeout(r, 50));
      const body = randomBytes(50_000);
      writeFileSync(join(root, 'watch', 'in', 'late.csv'), body);
      const today = new Date().toISOString().slice(0, 10);
      const key = `trips/ingest_date=${today > DS ? today : DS}/late.csv`;
      let landed = await store.head('raw', key);
      for (let i = 0; i < 200 && !landed; i++) {
        await new Promise((r) => setTimeout(r, 100));
        landed = await store.head('raw', key);
      }
      expect(landed?.size).toBe(body.length);
    } finally {
      app.child.kill('SIGTERM');
    }
    const stopped = await app.done;
    expect(stopped.code).toBe(0);
    await watched.close();
  }, 60_000);
});
