import { readFileSync } from 'node:fs';
import { ConfigError, baseSettings, loadConfig, runTaskCli } from '@trips/core';
import { resolveSettings } from '@trips/secrets';
import { ObjectStore } from '@trips/storage';
import { runIngestPass, TASK, type IngestManifest, type IngestOptions } from './ingest';
import { ingestSettings } from './settings';

void runTaskCli({
  name: TASK,
  description:
    'Lands every new or changed file of the SFTP folder in s3://RAW/trips/ingest_date=<ds>/ exactly once, verified by SHA-256. One pass, or with --watch a pass every TRIPS_SFTP_POLL_SECONDS until SIGTERM.',
  options: {
    watch: { type: 'boolean', description: 'keep polling until SIGTERM; each pass lands under the UTC day it runs on (--ds names the first)' },
  },
  async run({ ds, options, logger }): Promise<IngestManifest> {
    const cfg = loadConfig({ ...baseSettings, ...ingestSettings }, await resolveSettings());
    logger.level = cfg.LOG_LEVEL;
    const privateKey = cfg.TRIPS_SFTP_PRIVATE_KEY ?? (cfg.TRIPS_SFTP_PRIVATE_KEY_FILE ? readKeyFile(cfg.TRIPS_SFTP_PRIVATE_KEY_FILE) : undefined);
    if (!cfg.TRIPS_SFTP_PASSWORD && !privateKey) throw new ConfigError('TRIPS_SFTP_PASSWORD or TRIPS_SFTP_PRIVATE_KEY (or _FILE) is required');
    if (cfg.TRIPS_SFTP_AFTER === 'move' && !cfg.TRIPS_SFTP_DONE_DIR) throw new ConfigError('TRIPS_SFTP_DONE_DIR is required when TRIPS_SFTP_AFTER=move');
    const store = new ObjectStore({ region: cfg.AWS_REGION, endpoint: cfg.AWS_ENDPOINT_URL_S3 ?? cfg.AWS_ENDPOINT_URL });
    const opts: IngestOptions = {
      connect: {
        host: cfg.TRIPS_SFTP_HOST,
        port: cfg.TRIPS_SFTP_PORT,
        username: cfg.TRIPS_SFTP_USER,
        password: cfg.TRIPS_SFTP_PASSWORD,
        privateKey,
        passphrase: cfg.TRIPS_SFTP_PRIVATE_KEY_PASSPHRASE,
        hostKeySha256: cfg.TRIPS_SFTP_HOST_KEY_SHA256,
      },
      dir: cfg.TRIPS_SFTP_DIR,
      pattern: cfg.TRIPS_SFTP_PATTERN,
      minAgeSeconds: cfg.TRIPS_SFTP_MIN_AGE_SECONDS,
      stableSeconds: cfg.TRIPS_SFTP_STABLE_SECONDS,
      after: cfg.TRIPS_SFTP_AFTER,
      doneDir: cfg.TRIPS_SFTP_DONE_DIR,
      connectAttempts: cfg.TRIPS_SFTP_CONNECT_ATTEMPTS,
    };
    const deps = { store, buckets: { raw: cfg.TRIPS_RAW_BUCKET, lake: cfg.TRIPS_LAKE_BUCKET }, logger };
    if (!options.watch) return runIngestPass(deps, opts, ds);

    let stopping = false;
    const stop = () => {
      stopping = true;
      logger.info('ingest-sftp: stopping after the file in flight');
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    let last: IngestManifest | undefined;
    while (!stopping) {
      try {
        const today = new Date().toISOString().slice(0, 10);
        last = await runIngestPass({ ...deps, stopping: () => stopping }, opts, today > ds ? today : ds);
      } catch (e) {
        // A failed pass is reported in its manifest; watching goes on.
        logger.error({ err: (e as Error).message }, `ingest-sftp: pass failed: ${(e as Error).message}`);
      }
      for (let waited = 0; waited < cfg.TRIPS_SFTP_POLL_SECONDS * 1000 && !stopping; waited += 100) await new Promise((r) => setTimeout(r, 100));
    }
    if (!last) throw new ConfigError('ingest-sftp --watch stopped before completing a pass');
    return last;
  },
});

function readKeyFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`TRIPS_SFTP_PRIVATE_KEY_FILE ${path}: cannot read it (${(e as NodeJS.ErrnoException).code})`);
  }
}
