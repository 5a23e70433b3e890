import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { isProcessAlive, parseDs, UsageError } from '@trips/core';
import { folderBytes, readLocalAirflow, readStack, stopStack, usingKeptPostgres } from '@trips/local';
import { rowsLocation, tableOfLayer, taskOfApp } from '@trips/pipeline';
import { listDataObjects } from '@trips/storage';
import { factTable } from '@trips/warehouse';
import { defineCommand, type Flags } from './args';
import { parseS3Url, readManifests, withLocalLake } from './local-lake';
import { withLocalWarehouse } from './local-warehouse';
import { formatRows, outputFormat } from './report';
import { cliSettings } from './settings';
import { workspaceRoot } from './workspace';

const say = (line: string) => process.stderr.write(`${line}\n`);
const FORMAT: Flags = {
  json: { type: 'boolean', description: 'the same as --format json' },
  format: { type: 'string', value: 'FORMAT', description: 'text (default: a table), json, or csv' },
};
const DS: Flags = { ds: { type: 'string', value: 'YYYY-MM-DD', description: 'the day (default: every day)' } };

export const manifestsCommand = defineCommand(
  {
    name: 'trips manifests',
    description: `The outcome of each task of a day, as its manifest records it (status, rows, time), from the local lake;
with --task, that task's whole manifest as JSON.`,
    options: { ...DS, task: { type: 'string', value: 'TASK_ID', description: 'print this task\'s manifest (with --ds)' }, ...FORMAT },
  },
  async ({ values }) => {
    const ds = typeof values.ds === 'string' ? parseDs(values.ds) : undefined;
    const format = outputFormat(values);
    return withLocalLake(async (lake) => {
      const manifests = await readManifests(lake, ds);
      if (typeof values.task === 'string') {
        if (!ds) throw new UsageError('trips manifests --task needs --ds');
        const m = manifests.find((x) => x.task === values.task);
        if (!m) throw new UsageError(`no manifest of task ${values.task} for ds=${ds} (tasks with one: ${manifests.map((x) => x.task).join(', ') || 'none'})`);
        process.stdout.write(`${JSON.stringify(m, null, 2)}\n`);
        return 0;
      }
      if (manifests.length === 0) say(`trips manifests: no manifest${ds ? ` for ds=${ds}` : ''} in s3://${lake.buckets.lake}/manifests/`);
      const rows = manifests.map((m) => ({
        ds: m.ds,
        task: m.task,
        status: m.status,
        started: m.startedAt,
        seconds: Number((m.durationMs / 1000).toFixed(1)),
        read: m.rows.read,
        passed: m.rows.passed,
        rejected: m.rows.rejected,
        duplicates: m.rows.duplicates,
        run: m.runId ?? null,
      }));
      process.stdout.write(format === 'json' ? `${JSON.stringify(manifests, null, 2)}\n` : formatRows(rows, format, { counts: true }));
      return 0;
    });
  },
);

export const rejectsCommand = defineCommand(
  {
    name: 'trips rejects',
    description: `The rows validation rejected on a day, with the raw file, the line and the rule each broke (the quarantine
of the local lake), and the files it refused whole. Without --rows: the count per reason.`,
    options: {
      ds: { type: 'string', value: 'YYYY-MM-DD', description: 'the day (required)' },
      reason: { type: 'string', value: 'REASON', description: 'only the rows rejected for this reason (implies --rows)' },
      rows: { type: 'boolean', description: 'list the rows, not the count per reason' },
      limit: { type: 'string', value: 'N', description: 'at most N rows (default 50; 0 for all)' },
      ...FORMAT,
    },
  },
  async ({ values }) => {
    if (typeof values.ds !== 'string') throw new UsageError('trips rejects: --ds YYYY-MM-DD is required');
    const ds = parseDs(values.ds);
    const format = outputFormat(values);
    const limit = values.limit === undefined ? 50 : Number(values.limit);
    if (!Number.isInteger(limit) || limit < 0) throw new UsageError(`--limit must be a whole number >= 0, got "${String(values.limit)}"`);
    const reason = typeof values.reason === 'string' ? values.reason : undefined;
    const listRows = values.rows === true || reason !== undefined;
    return withLocalLake(async (lake) => {
      const validate = (await readManifests(lake, ds)).find((m) => m.task === taskOfApp('validate-raw').id);
      const refused = (validate?.files ?? []).filter((f) => f.status === 'quarantined');
      const quarantine = tableOfLayer('quarantine');
      const location = rowsLocation(lake.buckets, quarantine, ds);
      const objects = await listDataObjects(lake.store, location, 'the quarantine');
      if (!validate && objects.length === 0) throw new UsageError(`nothing validated for ds=${ds} in the local lake (trips manifests lists the days)`);
      const scratch = await mkdtemp(join(tmpdir(), 'trips-rejects-'));
      // Loaded here, not with the CLI: DuckDB takes 90 ms to load, which every command would pay.
      const { DuckDBInstance } = await import('@duckdb/node-api');
      const db = await DuckDBInstance.create(':memory:', { threads: '1' });
      const con = await db.connect();
      try {
        const files: string[] = [];
        for (const [i, o] of objects.entries()) {
          const path = join(scratch, `rows-${i}.csv`);
          await pipeline(await lake.store.getStream(location.bucket, o.key), createWriteStream(path));
          files.push(`'${path.replace(/'/g, "''")}'`);
        }
        const columns = quarantine.columns.map((c) => c.name);
        const source = files.length
          ? `read_csv([${files.join(', ')}], header = true, all_varchar = true, quote = '"', escape = '"', columns = {${columns.map((c) => `'${c}': 'varchar'`).join(', ')}})`
          : `(select ${columns.map((c) => `null::varchar as ${c}`).join(', ')} where false)`;
        const where = reason ? `where reason = '${reason.replace(/'/g, "''")}'` : '';
        const sql = listRows
          ? `select source_file, line_no::bigint as line, reason, detail from ${source} ${where} order by source_file, line_no::bigint ${limit > 0 ? `limit ${limit}` : ''}`
          : `select reason, count(*)::integer as rows from ${source} group by reason order by rows desc, reason`;
        const rows = (await con.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
        const total = validate?.rows.rejected;
        if (format === 'json') {
          process.stdout.write(`${JSON.stringify({ ds, rejected: total ?? null, refusedFiles: refused.map((f) => ({ file: f.file, reason: f.reason })), [listRows ? 'rows' : 'byReason']: rows }, null, 2)}\n`);
          return 0;
        }
        process.stdout.write(formatRows(rows, format, { counts: true }));
        if (format === 'text') {
          if (listRows && limit > 0 && rows.length === limit) say(`trips rejects: the first ${limit} rows shown; --limit 0 for all`);
          for (const f of refused) say(`trips rejects: file refused whole: ${f.file}: ${f.reason}`);
          if (total !== undefined) say(`trips rejects: ds=${ds}: ${total.toLocaleString('en-US')} of ${validate?.rows.read.toLocaleString('en-US')} rows rejected (s3://${location.bucket}/${location.prefix})`);
        }
        return 0;
      } finally {
        con.closeSync();
        db.closeSync();
        await rm(scratch, { recursive: true, force: true });
      }
    });
  },
);

export const s3Command = defineCommand(
  {
    name: 'trips s3',
    description: `The local lake's objects, whether or not a stand-in runs:
  ls s3://BUCKET/PREFIX   the objects under a prefix (size, key)
  cat s3://BUCKET/KEY     an object's bytes on stdout
  cp s3://BUCKET/KEY PATH an object into a file`,
    options: { ...FORMAT },
    positionals: '<action> <s3-url> [path]',
  },
  async ({ values, positionals }) => {
    const [action, url, path, ...extra] = positionals;
    if (extra.length || !url || (action === 'cp') !== (path !== undefined)) throw new UsageError('trips s3: ls s3://BUCKET/PREFIX, cat s3://BUCKET/KEY or cp s3://BUCKET/KEY PATH');
    const { bucket, key } = parseS3Url(url);
    const format = outputFormat(values);
    return withLocalLake(async ({ store }) => {
      switch (action) {
        case 'ls': {
          const objects = await store.listAll(bucket, key);
          process.stdout.write(formatRows(objects.map((o) => ({ bytes: o.size, modified: o.lastModified?.toISOString() ?? null, key: o.key })), format));
          return 0;
        }
        case 'cat':
        case 'cp': {
          if (!(await store.head(bucket, key))) throw new UsageError(`no object s3://${bucket}/${key} (trips s3 ls s3://${bucket}/${key.replace(/[^/]*$/, '')} lists its folder)`);
          await pipeline(await store.getStream(bucket, key), action === 'cat' ? process.stdout : createWriteStream(path as string));
          return 0;
        }
        default:
          throw new UsageError(`trips s3: unknown action "${action}" (ls, cat, cp)`);
      }
    });
  },
);

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

export const statusCommand = defineCommand(
  {
    name: 'trips status',
    description: 'What runs and what is kept: the local stand-ins and their ports, the state folder and its size, and each day\'s last run from its manifests.',
    options: { ...FORMAT },
  },
  async ({ values }) => {
    const format = outputFormat(values);
    const settings = cliSettings(workspaceRoot());
    const stateDir = settings.TRIPS_STATE_DIR;
    const stack = readStack(stateDir);
    const kept = stack ? undefined : usingKeptPostgres(stateDir, { touch: false });
    const airflow = readLocalAirflow(stateDir);
    const sizes = Object.fromEntries(await Promise.all(['s3', 'pg', 'work', 'airflow'].map(async (d) => [d, await folderBytes(join(stateDir, d))] as const)));
    const manifests = existsSync(join(stateDir, 's3')) || stack ? await withLocalLake((lake) => readManifests(lake)) : [];
    const days = [...new Set(manifests.map((m) => m.ds))].map((ds) => {
      const ofDay = manifests.filter((m) => m.ds === ds);
      const last = ofDay[ofDay.length - 1];
      const load = ofDay.find((m) => m.task === taskOfApp('load-redshift').id);
      const facts = load?.status === 'succeeded' ? load.files.find((f) => f.file.endsWith(factTable().id))?.rows.passed : undefined;
      return { ds, tasks: ofDay.length, failed: ofDay.filter((m) => m.status === 'failed').map((m) => m.task).join(' ') || null, last_finished: last.finishedAt, facts_loaded: facts ?? null };
    });
    const status = {
      stateDir,
      stack: stack ? { mode: stack.mode, owner: stack.ownerPid ?? null, s3: stack.s3?.endpoint ?? null, files: stack.files?.directory ?? null, postgresPort: stack.pg.port, sftpPort: stack.sftp?.port ?? null, moto: stack.moto?.endpoint ?? null } : null,
      airflow: airflow ? { url: airflow.url } : null,
      keptPostgres: kept ? { pid: kept.pid, port: Number(new URL(kept.url).port) } : null,
      bytes: sizes,
      days,
    };
    if (format === 'json') {
      process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
      return 0;
    }
    if (format === 'csv') {
      process.stdout.write(formatRows(days, 'csv'));
      return 0;
    }
    const lines = [
      `state: ${stateDir} (lake ${mb(sizes.s3)}, warehouse ${mb(sizes.pg)}, scratch ${mb(sizes.work)}${sizes.airflow ? `, Airflow ${mb(sizes.airflow)}` : ''})`,
      stack
        ? `stand-ins: ${stack.mode === 'standing' ? 'the standing stack (trips local up)' : `a running trips command's (pid ${stack.ownerPid})`}: ${stack.s3 ? `S3 ${stack.s3.endpoint}` : `the file store in ${stack.files?.directory}`}, PostgreSQL port ${stack.pg.port}${stack.sftp ? `, SFTP port ${stack.sftp.port}` : ''}${stack.moto ? `, moto ${stack.moto.endpoint}` : ''}`
        : kept
          ? `stand-ins: PostgreSQL kept after a query (pid ${kept.pid}, port ${new URL(kept.url).port}; stops when idle ${settings.TRIPS_QUERY_KEEP_SECONDS} s)`
          : 'stand-ins: none running (commands start them as they need them)',
      ...(airflow ? [`Airflow: ${airflow.url} (npm run local:airflow; . ${relative(process.cwd(), join(stateDir, 'airflow', 'env.sh'))} for its airflow command)`] : []),
    ];
    process.stdout.write(`${lines.join('\n')}\n${days.length ? formatRows(days, 'text', { counts: true }) : '(no day run yet)\n'}`);
    return 0;
  },
);

export const resetCommand = defineCommand(
  {
    name: 'trips reset',
    description: 'Stops the local stand-ins and deletes the state folder (lake, warehouse, scratch, the local Airflow\'s home): a fresh start. Asks for --yes.',
    options: { yes: { type: 'boolean', description: 'really delete it' } },
  },
  async ({ values }) => {
    const stateDir = cliSettings(workspaceRoot()).TRIPS_STATE_DIR;
    const shown = relative(process.cwd(), stateDir) || stateDir;
    if (!existsSync(stateDir)) {
      say(`trips reset: nothing to reset (${shown} does not exist)`);
      return 0;
    }
    const stack = readStack(stateDir);
    if (stack?.mode === 'embedded' && stack.ownerPid !== undefined && isProcessAlive(stack.ownerPid)) {
      throw new UsageError(`a trips command (pid ${stack.ownerPid}) is running on ${shown}; reset when it has finished`);
    }
    const airflow = readLocalAirflow(stateDir);
    if (airflow) throw new UsageError(`the local Airflow runs on ${shown} (${airflow.url}); stop it first (Ctrl-C where it runs, or npx trips local down)`);
    if (values.yes !== true) {
      say(`trips reset: would stop the stand-ins and delete ${shown} (${mb(await folderBytes(stateDir))}): the local lake, warehouse and Airflow state. Give --yes to do it.`);
      return 64;
    }
    const stopped = await stopStack(stateDir);
    await rm(stateDir, { recursive: true, force: true });
    say(`trips reset: ${stopped.length ? `stopped ${stopped.join(', ')}; ` : ''}deleted ${shown}`);
    return 0;
  },
);

export const psqlCommand = defineCommand(
  {
    name: 'trips psql',
    description: 'Opens psql on the local warehouse (schema trips on the search path); arguments after -- go to psql (trips psql -- -c "select 1").',
    options: {},
    positionals: '[-- psql-arguments]',
  },
  async ({ positionals }) => {
    if (spawnSync('psql', ['--version'], { stdio: 'ignore' }).error) {
      throw new UsageError('psql is not on PATH: install the PostgreSQL client (Debian/Ubuntu: apt install postgresql-client; macOS: brew install libpq), or use trips sql');
    }
    return withLocalWarehouse(
      (_wh, url) =>
        new Promise<number>((resolve, reject) => {
          const child = spawn('psql', [url, ...positionals], { stdio: 'inherit', env: { ...process.env, PGOPTIONS: '-c search_path=trips,public' } });
          child.on('error', reject);
          child.on('exit', (code) => resolve(code ?? 1));
        }),
    );
  },
);
