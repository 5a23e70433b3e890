import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DockerfileParser, type Copy } from 'dockerfile-ast';
import { parse as parseYaml } from 'yaml';
import { ensureVenv, sftpSettings, stackEnv, startPostgres, startS3Server, startSftpServer, type LocalPostgres, type LocalS3, type LocalSftp, type StackRecord } from '@trips/local';
import { PIPELINE, topologicalOrder } from '@trips/pipeline';
import { inContext, installLikeDockerfile, runChain, TASK_APPS } from './bundles';
import { ROOT, SAMPLE } from './trips';

// The images, the Docker local stack and CI, proven without a Docker engine: the Dockerfiles parse,
// pass hadolint and copy only files that exist; each app runs from exactly what its Dockerfile
// copies, installed as it installs it; the compose and workflow files validate against their
// schemas (check-jsonschema's vendored Compose specification and GitHub workflow schemas).
const DOCKERFILES = ['docker/app.Dockerfile', 'local/airflow.Dockerfile'];
const tools = ensureVenv('containers', join(ROOT, 'tools/container/requirements.txt'));
const bin = (name: string) => join(dirname(tools as string), name);

// The runtime manifests the images install (written by `nx run <app>:container` before docker build).
beforeAll(() => {
  for (const app of new Set(TASK_APPS)) {
    const manifest = spawnSync(process.execPath, [join(ROOT, 'tools/container/manifest.mjs'), app], { encoding: 'utf8' });
    if (manifest.status !== 0) throw new Error(manifest.stderr);
  }
});

describe('the Dockerfiles', () => {
  it.each(DOCKERFILES)('%s pins its base images by exact version and passes hadolint', (file) => {
    const d = DockerfileParser.parse(readFileSync(join(ROOT, file), 'utf8'));
    const defaults = Object.fromEntries(
      d.getInstructions().flatMap((i) => (i.getKeyword() === 'ARG' && i.getArgumentsContent()?.includes('=') ? [i.getArgumentsContent()!.split('=') as [string, string]] : [])),
    );
    const stages = d.getFROMs().map((f) => f.getBuildStage()).filter(Boolean);
    for (const from of d.getFROMs()) {
      const image = (from.getImage() ?? '').replace(/\$\{(\w+)\}/, (_, k: string) => defaults[k]);
      if (stages.includes(image)) continue;
      expect({ file, image }).toEqual({ file, image: expect.stringMatching(/^[\w./-]+:\d+\.\d+(\.\d+)?(-[\w.-]+)?$/) });
    }
    if (!tools) return console.warn('hadolint: skipped (no Python 3.10+)');
    const lint = spawnSync(bin('hadolint'), ['--config', join(ROOT, '.hadolint.yaml'), join(ROOT, file)], { encoding: 'utf8' });
    expect({ file, status: lint.status, out: lint.stdout.trim() }).toEqual({ file, status: 0, out: '' });
  });

  it('runs every task app as the non-root user, from its bundle, the way the task definitions expect', () => {
    const d = DockerfileParser.parse(readFileSync(join(ROOT, 'docker/app.Dockerfile'), 'utf8'));
    const final = d.getInstructions().slice(d.getInstructions().lastIndexOf(d.getFROMs().at(-1)!));
    const user = final.filter((i) => i.getKeyword() === 'USER').at(-1)?.getArgumentsContent();
    expect(user).toBe(PIPELINE.ecs.user);
    expect(user).not.toMatch(/^(0|root)(:|$)/);
    const entry = final.find((i) => i.getKeyword() === 'ENTRYPOINT')?.getArgumentsContent();
    expect(JSON.parse(entry ?? 'null')).toEqual(PIPELINE.ecs.entryPoint);
    // USER comes before the entry point: nothing runs as root at run time.
    expect(final.findIndex((i) => i.getKeyword() === 'USER')).toBeLessThan(final.findIndex((i) => i.getKeyword() === 'ENTRYPOINT'));
  });

  it.each(DOCKERFILES)('%s copies only files that exist in the build context (for every app)', (file) => {
    const d = DockerfileParser.parse(readFileSync(join(ROOT, file), 'utf8'));
    const copies = d.getInstructions().filter((i) => i.getKeyword() === 'COPY' && !(i as Copy).getFromFlag());
    expect(copies.length).toBeGreaterThan(0);
    for (const app of TASK_APPS) {
      for (const c of copies) {
        for (const src of c.getArguments().slice(0, -1).map((a) => a.getValue().replace('${APP}', app))) {
          // What local/compose.mjs writes before it builds (the bundles' runtime packages for the Airflow image).
          if (src.startsWith('local/.compose/')) {
            expect(readFileSync(join(ROOT, 'local/compose.mjs'), 'utf8')).toContain("join(STATE, 'package.json')");
            continue;
          }
          // A folder's files are sent when paths under it are in the context.
          const probe = src.endsWith('/') ? `${src}main.js` : src;
          expect({ file, src, exists: existsSync(join(ROOT, src)), inContext: inContext(probe) }).toEqual({ file, src, exists: true, inContext: true });
        }
      }
    }
  });
});

describe('each app installed as its Dockerfile installs it, and nothing else', () => {
  const work = mkdtempSync(join(tmpdir(), 'trips-images-'));
  const images: Record<string, { dir: string; entryPoint: string[] }> = {};
  let s3: LocalS3;
  let pg: LocalPostgres;
  let sftp: LocalSftp;

  beforeAll(async () => {
    for (const app of TASK_APPS) {
      if (images[app]) continue;
      images[app] = installLikeDockerfile('docker/app.Dockerfile', { APP: app }, join(work, app));
    }
    const inbox = join(work, 'sftp', 'inbox');
    mkdirSync(inbox, { recursive: true });
    writeFileSync(join(inbox, 'trips-sample.csv'), readFileSync(SAMPLE));
    utimesSync(join(inbox, 'trips-sample.csv'), 1_527_000_000, 1_527_000_000);
    [s3, pg, sftp] = await Promise.all([startS3Server({ buckets: ['raw', 'lake'] }), startPostgres(), startSftpServer({ root: join(work, 'sftp') })]);
  }, 600_000);
  afterAll(async () => {
    await Promise.all([s3?.close(), pg?.stop(), sftp?.close()]);
    rmSync(work, { recursive: true, force: true });
  });

  it('holds the bundle, its runtime packages and no source maps; prints its help and version', () => {
    for (const app of new Set(TASK_APPS)) {
      const { dir, entryPoint } = images[app];
      expect({ app, bundle: existsSync(join(dir, 'main.js')), map: existsSync(join(dir, 'main.js.map')), duckdb: existsSync(join(dir, 'node_modules/@duckdb/node-api')) }).toEqual({ app, bundle: true, map: false, duckdb: true });
      const [cmd, ...rest] = entryPoint;
      const help = spawnSync(cmd, [...rest, '--help'], { cwd: dir, encoding: 'utf8' });
      expect({ app, status: help.status, usage: help.stdout.split('\n')[0] }).toEqual({ app, status: 0, usage: `Usage: ${app} [options]` });
      expect(help.stderr).not.toContain('NodeVersionSupportWarning');
    }
  });

  it('runs the whole chain for a day against the embedded stand-ins, each app from its own image folder', async () => {
    const record = { buckets: { raw: 'raw', lake: 'lake' }, s3: { endpoint: s3.endpoint }, pg: { url: pg.url }, workDir: join(work, 'scratch') } as unknown as StackRecord;
    const env = { ...stackEnv(record), ...sftpSettings(sftp, '/inbox', { minAgeSeconds: 0, stableSeconds: 0 }) };
    const results = await runChain(images, env, '2018-05-28', 'images-run');
    expect(results.map((r) => [r.task, r.status, r.status === 0 ? '' : r.stderr.slice(-1500)])).toEqual(topologicalOrder(PIPELINE.tasks).map((t) => [t.id, 0, '']));
    // The SDK's Node-version notice stays out of the task logs.
    expect(results.filter((r) => r.stderr.includes('NodeVersionSupportWarning')).map((r) => r.task)).toEqual([]);
    const { Client } = await import('pg');
    const client = new Client({ connectionString: pg.url });
    await client.connect();
    const { rows } = await client.query('select count(*)::int as n from trips.fact_trips');
    await client.end();
    expect(rows[0].n).toBe(1968);
  }, 600_000);
});

describe('the Docker local stack and CI', () => {
  const compose = parseYaml(readFileSync(join(ROOT, 'local/compose.yaml'), 'utf8'), { merge: true }) as { services: Record<string, { environment?: Record<string, string>; profiles?: string[]; ports?: string[]; command?: string[]; networks?: { default?: { aliases?: string[] } } }> };

  it('validates against the Compose specification and the GitHub workflow schema', () => {
    if (!tools) return console.warn('check-jsonschema: skipped (no Python 3.10+)');
    for (const [schema, file] of [
      ['vendor.compose-spec', 'local/compose.yaml'],
      ['vendor.github-workflows', '.github/workflows/ci.yml'],
    ]) {
      const r = spawnSync(bin('check-jsonschema'), ['--builtin-schema', schema, join(ROOT, file)], { encoding: 'utf8' });
      expect({ file, status: r.status, out: r.status === 0 ? '' : `${r.stdout}${r.stderr}` }).toEqual({ file, status: 0, out: '' });
    }
  });

  it('names every service and every variable the local DAG\'s tasks need', () => {
    const s = compose.services;
    expect(Object.keys(s).sort()).toEqual(['airflow', 'localstack', 'moto', 'notices', 'postgres', 'sftp']);
    // Notices go to a receiver of the stack (in the JSON form a URI would get wrong), and no port is open beyond this machine.
    expect(JSON.parse(s.airflow.environment?.AIRFLOW_CONN_TRIPS_WEBHOOK ?? '{}')).toEqual({ conn_type: 'http', host: 'http://notices:8090/trips' });
    expect(s.notices.command).toEqual(['node', '/opt/trips/notice-receiver.cjs', '/notices/notices.jsonl', '8090', '0.0.0.0']);
    for (const [name, service] of Object.entries(s)) for (const port of service.ports ?? []) expect({ name, port }).toEqual({ name, port: expect.stringMatching(/^127\.0\.0\.1:/) });
    // Both AWS stand-ins answer as `aws`, each under its profile.
    expect([s.moto.profiles, s.localstack.profiles]).toEqual([['moto'], ['localstack']]);
    expect([s.moto.networks?.default?.aliases, s.localstack.networks?.default?.aliases]).toEqual([['aws'], ['aws']]);
    expect(s.localstack.environment?.LOCALSTACK_AUTH_TOKEN).toBe('${LOCALSTACK_AUTH_TOKEN:-}');
    const record = { buckets: { raw: 'r', lake: 'l' }, s3: { endpoint: 'http://x' }, moto: { endpoint: 'http://x' }, pg: { url: 'postgres://x' }, workDir: '/w', sftp: { port: 22, username: 'u', password: 'p', hostKeyFingerprint: 'k' } } as unknown as StackRecord;
    const needed = [...Object.keys(stackEnv(record, { home: '/h' })), `AIRFLOW_CONN_${PIPELINE.notifications.webhookConnId.toUpperCase()}`];
    const airflow = Object.keys(s.airflow.environment ?? {});
    expect(needed.filter((k) => !airflow.includes(k))).toEqual([]);
  });

  it('runs what a pull request affects, and everything with the images on main', () => {
    const ci = readFileSync(join(ROOT, '.github/workflows/ci.yml'), 'utf8');
    expect(ci).toContain('nrwl/nx-set-shas@v4');
    expect(ci).toContain('npx nx affected -t lint test build --base=$NX_BASE --head=$NX_HEAD');
    expect(ci).toContain('actions/setup-python@v5');
    expect(ci).toContain('npx nx run-many -t container');
    expect(ci).toContain('npm test');
  });
});
