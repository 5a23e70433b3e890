import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { startS3Server, type LocalS3 } from '@trips/local';
import { lockKey } from '@trips/pipeline';
import { baseSettings, loadConfig } from '@trips/core';
import { DsLock, FileObjectStore, S3ObjectStore, type LockState, type ObjectStore } from '@trips/storage';
import { checkStatementTimeouts, openStore } from './pipeline-task';

const ROOT = join(__dirname, '..', '..', '..');
const DS = '2018-05-28';

describe('runPipelineTask: settings, the store and the day\'s lock around a task\'s work', () => {
  let s3: LocalS3;
  let store: ObjectStore;
  beforeAll(async () => {
    s3 = await startS3Server({ buckets: ['raw', 'lake'] });
    store = s3.store();
  });
  afterAll(() => s3.close());
  afterEach(() => store.deletePrefix('lake', 'locks/'));

  const probe = (args: string[], env: Record<string, string> = {}) =>
    spawnSync(process.execPath, ['--import', require.resolve('tsx'), join(__dirname, 'fixtures', 'probe-task.ts'), '--ds', DS, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...s3.env({ raw: 'raw', lake: 'lake' }), TSX_TSCONFIG_PATH: join(ROOT, 'tsconfig.json'), ...env },
      encoding: 'utf8',
    });
  const lock = async () => JSON.parse((await store.getVersioned('lake', lockKey(DS)))?.text ?? 'null') as LockState | null;

  it('hands the lock on to the run\'s next task when the task is a step of a run (--run-id)', async () => {
    const r = probe(['--run-id', 'run-a']);
    expect(r.status).toBe(0);
    expect(await store.getJson('lake', `probe/ds=${DS}.json`)).toEqual({ runId: 'run-a', prepared: 'prepared' });
    expect(await lock()).toMatchObject({ owner: 'run-a' });
    expect((await lock())?.released).toBeUndefined();
    expect((await lock())?.pid).toBeUndefined();
    // Another run is refused; the same run's next task goes on; the run's closing step frees the day.
    const other = probe(['--run-id', 'run-b']);
    expect(other.status).toBe(75);
    expect(other.stderr).toContain(`ds=${DS} is locked by run run-a`);
    expect(probe(['--run-id', 'run-a']).status).toBe(0);
    expect(probe(['--run-id', 'run-a', '--release-lock']).status).toBe(0);
    expect(await lock()).toMatchObject({ owner: 'run-a', released: true });
    expect(probe(['--run-id', 'run-b']).status).toBe(0);
  });

  it('frees the lock when done when the task runs on its own, and keeps it for the run\'s retry when the work fails', async () => {
    expect(probe([]).status).toBe(0);
    expect(await lock()).toMatchObject({ released: true });
    const failed = probe(['--run-id', 'run-c'], { PROBE_FAIL: '1' });
    expect(failed.status).toBe(65);
    expect(await lock()).toMatchObject({ owner: 'run-c' });
    expect((await lock())?.released).toBeUndefined();
  });

  it('started ahead of its turn (TRIPS_START_GATE), does nothing until `go` on stdin, and nothing at all when stdin ends first', async () => {
    const started = (input: string) =>
      new Promise<{ status: number | null; stderr: string; before: unknown }>((resolve) => {
        const child = spawn(process.execPath, ['--import', require.resolve('tsx'), join(__dirname, 'fixtures', 'probe-task.ts'), '--ds', DS, '--run-id', 'run-g'], {
          cwd: ROOT,
          env: { ...process.env, ...s3.env({ raw: 'raw', lake: 'lake' }), TSX_TSCONFIG_PATH: join(ROOT, 'tsconfig.json'), TRIPS_START_GATE: '1' },
        });
        let stderr = '';
        child.stderr.on('data', (d) => (stderr += d));
        // Long enough to load its code (from source, through tsx) and do its work, were it not waiting.
        setTimeout(async () => {
          const before = await store.getJson('lake', `probe/ds=${DS}.json`);
          child.on('close', (status) => resolve({ status, stderr, before }));
          child.stdin.end(input);
        }, 3000);
      });
    await store.deletePrefix('lake', 'probe/');
    const stopped = await started('');
    expect(stopped).toMatchObject({ status: 75, before: undefined });
    expect(stopped.stderr).toContain(`clean-stage: not started for ds=${DS}: the run ended before its turn`);
    expect(await store.getJson('lake', `probe/ds=${DS}.json`)).toBeUndefined();
    expect(await lock()).toBeNull();
    const ran = await started('go\n');
    expect(ran).toMatchObject({ status: 0, before: undefined });
    expect(await store.getJson('lake', `probe/ds=${DS}.json`)).toEqual({ runId: 'run-g', prepared: 'prepared' });
    expect(await lock()).toMatchObject({ owner: 'run-g' });
    await store.deletePrefix('lake', 'probe/');
  });

  it('refuses a ds the lake\'s partition projection does not know, before taking the lock', async () => {
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    for (const ds of ['2017-12-31', tomorrow]) {
      const r = probe(['--ds', ds, '--run-id', 'run-e']);
      expect({ ds, status: r.status }).toEqual({ ds, status: 64 });
      expect(r.stderr).toContain(`ds ${ds} is outside the days the lake's tables know, 2018-01-01 to today`);
    }
    expect(await lock()).toBeNull();
  });

  it('refuses a statement timeout that is not shorter than the task\'s own', () => {
    const task = { id: 'load_redshift', timeoutMinutes: 60 };
    expect(() => checkStatementTimeouts({ TRIPS_REDSHIFT_TIMEOUT_SECONDS: 3600 }, task)).toThrow(
      "TRIPS_REDSHIFT_TIMEOUT_SECONDS=3600 is not shorter than task load_redshift's timeout (60 min, pipeline definition): a statement would outlive its task; set it below 3600",
    );
    expect(() => checkStatementTimeouts({ TRIPS_REDSHIFT_TIMEOUT_SECONDS: 2700, TRIPS_ATHENA_TIMEOUT_SECONDS: 1800 }, task)).not.toThrow();
  });

  it('opens the file store for TRIPS_OBJECT_DIR, S3 otherwise, and refuses a folder with Athena or Redshift', () => {
    const cfg = (env: Record<string, string>) => loadConfig(baseSettings, env);
    const files = openStore(cfg({ TRIPS_OBJECT_DIR: 'state/s3' }));
    expect(files).toBeInstanceOf(FileObjectStore);
    expect((files as FileObjectStore).root).toBe(join(process.cwd(), 'state/s3'));
    expect(openStore(cfg({ AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9000' }))).toBeInstanceOf(S3ObjectStore);
    for (const env of [{ TRIPS_ENGINE: 'athena' }, { TRIPS_WAREHOUSE: 'redshift' }] as Array<Record<string, string>>) {
      expect(() => openStore(cfg({ TRIPS_OBJECT_DIR: 'state/s3', ...env }))).toThrow('TRIPS_OBJECT_DIR: a folder of objects is for local runs; Athena and Redshift read S3');
    }
  });

  it('refuses a bad setting before taking the lock', async () => {
    const r = probe(['--run-id', 'run-d'], { PROBE_PREPARE_FAIL: '1' });
    expect(r.status).toBe(78);
    expect(r.stderr).toContain('PROBE_PREPARE_FAIL is set');
    expect(await lock()).toBeNull();
  });

  it('waits for nobody when the lock\'s holder on this machine died', async () => {
    const held = new DsLock({ store, bucket: 'lake', key: lockKey(DS), what: `ds=${DS}`, owner: 'killed', leaseMs: 3_600_000 });
    await held.acquire();
    await store.putJson('lake', lockKey(DS), { ...(await lock()), pid: 999_999_999 });
    expect(probe(['--run-id', 'run-e']).status).toBe(0);
    await held.release();
  });
});
