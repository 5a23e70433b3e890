import { readFileSync } from 'node:fs';
import { ConfigError } from '@trips/core';
import { ingestSettings, runPipelineTask } from '@trips/runtime';
import { runIngestPass, type IngestManifest, type IngestOptions } from './ingest';

runPipelineTask({
  app: 'ingest-sftp',
  settings: ingestSettings,
  // Each pass holds the lock of the day it lands (with --watch, the day changes).
  lock: 'self',
  description:
    'Lands every new or changed file of the SFTP folder in s3://RAW/trips/ingest_date=<ds>/ exactly once, verified by SHA-256. One pass, or with --watch a pass every TRIPS_SFTP_POLL_SECONDS until SIGTERM.',
  options: {
    watch: { type: 'boolean', description: 'keep polling until SIGTERM; each pass lands under the UTC day it runs on (--ds names the first)' },
  },
  async run({ ds, runId, cfg, store, buckets, options, logger, progress, withLock }): Promise<IngestManifest> {
    const privateKey = cfg.TRIPS_SFTP_PRIVATE_KEY ?? (cfg.TRIPS_SFTP_PRIVATE_KEY_FILE ? readKeyFile(cfg.TRIPS_SFTP_PRIVATE_KEY_FILE) : undefined);
    if (!cfg.TRIPS_SFTP_PASSWORD && !privateKey) throw new ConfigError('TRIPS_SFTP_PASSWORD or TRIPS_SFTP_PRIVATE_KEY (or _FILE) is required');
    if (cfg.TRIPS_SFTP_AFTER === 'move' && !cfg.TRIPS_SFTP_DONE_DIR) throw new ConfigError('TRIPS_SFTP_DONE_DIR is required when TRIPS_SFTP_AFTER=move');
    const opts: IngestOptions = {
      connect: {
        host: cfg.TRIPS_SFTP_HOST,
        port: cfg.TRIPS_SFTP_PORT,
        username: cfg.TRIPS_SFTP_USER,
        password: cfg.TRIPS_SFTP_PASSWORD,
        privateKey,
        passphrase: cfg.TRIPS_SFTP_PRIVATE_KEY_PASSPHRASE,
        hostKeySha256: cfg.TRIPS_SFTP_HOST_KEY_SHA256,
        operationTimeoutMs: cfg.TRIPS_SFTP_TIMEOUT_SECONDS * 1000,
      },
      dir: cfg.TRIPS_SFTP_DIR,
      pattern: cfg.TRIPS_SFTP_PATTERN,
      minAgeSeconds: cfg.TRIPS_SFTP_MIN_AGE_SECONDS,
      stableSeconds: cfg.TRIPS_SFTP_STABLE_SECONDS,
      after: cfg.TRIPS_SFTP_AFTER,
      doneDir: cfg.TRIPS_SFTP_DONE_DIR,
      connectAttempts: cfg.TRIPS_SFTP_CONNECT_ATTEMPTS,
    };
    const deps = { store, buckets, runId, logger, progress };
    if (!options.watch) return withLock(ds, () => runIngestPass(deps, opts, ds));

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
        const day = today > ds ? today : ds;
        // A watching process is no run of the pipeline: it frees the day after each pass.
        last = await withLock(day, () => runIngestPass({ ...deps, stopping: () => stopping }, opts, day), { release: true });
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
