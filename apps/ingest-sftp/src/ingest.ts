import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { emptyCounts, ExternalError, OutcomeError, recordTask, s3Url, withRetries, type Logger, type Progress, type TaskManifest, type TaskOutcome } from '@trips/core';
import { manifestKey, rawBatch, rawContentType, taskOfApp, type Buckets } from '@trips/pipeline';
import type { ObjectStore } from '@trips/storage';
import { HostKeyMismatchError, PermissionDeniedError, Remote, StalledError, namePattern, type ConnectOptions, type RemoteFile } from './remote';
import { landingKey, loadState, sameVersion, saveState, type IngestState } from './state';

/** This app's task id in the pipeline definition: its manifest folder. */
export const TASK = taskOfApp('ingest-sftp').id;

export interface IngestOptions {
  connect: ConnectOptions;
  dir: string;
  pattern: string;
  minAgeSeconds: number;
  stableSeconds: number;
  after: 'leave' | 'move' | 'delete';
  doneDir?: string;
  connectAttempts: number;
}

export interface IngestDeps {
  /** The run this pass belongs to (recorded in the manifest). */
  runId?: string;
  store: ObjectStore;
  buckets: Buckets;
  logger?: Logger;
  progress?: Progress;
  /** Seconds since the epoch; injectable for tests. */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** Set when the process is asked to stop: the pass ends after the file in flight. */
  stopping?: () => boolean;
}

export type Outcome = 'landed' | 'skipped' | 'failed';

export interface FileReport {
  path: string;
  size: number;
  mtime: number;
  outcome: Outcome;
  reason?: string;
  key?: string;
  sha256?: string;
}

/** What a pass did, file by file: the `details` of its task manifest. */
export interface IngestPass {
  source: string;
  counts: { seen: number; landed: number; skipped: number; failed: number; bytes: number };
  skippedByReason: Record<string, number>;
  failedByReason: Record<string, number>;
  files: FileReport[];
}

/** A pass's task manifest (the one shape every task writes), its files in `details`. */
export type IngestManifest = TaskManifest<IngestPass>;

/** A pass that could not land every file it should have (exit 69); its manifest says which and why. */
export class IngestFailedError extends OutcomeError<IngestPass> {
  constructor(message: string, outcome: TaskOutcome<IngestPass>) {
    super(message, 69, outcome);
  }
}

const realSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * One pass over the remote folder: lands every new or changed file that is old enough and not
 * growing into s3://RAW/trips/ingest_date=<ds>/, verifies each landed copy's SHA-256 against what was
 * read before touching the remote file, and writes the pass manifest. Files that fail are reported
 * and the rest continue; the pass then fails (IngestFailedError) so the scheduler notices.
 */
export async function runIngestPass(deps: IngestDeps, o: IngestOptions, ds: string): Promise<IngestManifest> {
  const { store, buckets } = deps;
  const started = new Date();
  // The manifest of the day, and a copy per pass (a day may see several, with --watch).
  const save = async (m: IngestManifest) => {
    await store.putJson(buckets.lake, manifestKey(TASK, ds), m);
    await store.putJson(buckets.lake, manifestKey(TASK, ds).replace(/manifest\.json$/, `passes/${started.toISOString()}.json`), m);
  };
  return recordTask<IngestPass>({ task: TASK, ds, runId: deps.runId, logger: deps.logger, save }, () => pass(deps, o, ds));
}

async function pass(deps: IngestDeps, o: IngestOptions, ds: string): Promise<TaskOutcome<IngestPass>> {
  const { store, buckets, logger } = deps;
  const now = deps.now ?? (() => Date.now() / 1000);
  const sleep = deps.sleep ?? realSleep;
  const source = `sftp://${o.connect.username}@${o.connect.host}:${o.connect.port}${posix.normalize(o.dir)}`;
  const state = await loadState(store, buckets, source);
  const reports: FileReport[] = [];
  const report = (f: RemoteFile, outcome: Outcome, extra: Partial<FileReport> = {}) => reports.push({ path: f.path, size: f.size, mtime: f.mtime, outcome, ...extra });

  let remote = await connectWithRetry(o, logger, sleep);
  const reconnect = async () => {
    remote.close();
    remote = await connectWithRetry(o, logger, sleep);
  };
  try {
    const listing = await remote.list(o.dir, namePattern(o.pattern));
    logger?.info({ source, files: listing.length }, `ingest-sftp: ${listing.length} file(s) match ${o.pattern} under ${o.dir}`);
    const candidates: RemoteFile[] = [];
    for (const f of listing) {
      const known = state.files[f.path];
      if (known && sameVersion(known, f)) {
        if (known.status === 'landed') {
          report(f, 'skipped', { reason: 'unchanged', key: known.key });
          continue;
        }
        // Interrupted after the upload started: the object may be complete (landed, state not yet saved).
        const sha256 = await completeObjectSha(store, buckets.raw, known.key, f);
        if (sha256) {
          await finishRemote(remote, o, f, logger);
          state.files[f.path] = { ...known, status: 'landed', sha256, landedAt: new Date().toISOString() };
          await saveState(store, buckets, state);
          report(f, 'skipped', { reason: 'landed_before_interruption', key: known.key, sha256 });
          continue;
        }
      }
      if (now() - f.mtime < o.minAgeSeconds) report(f, 'skipped', { reason: 'too_recent' });
      else candidates.push(f);
    }

    let stable = candidates;
    if (candidates.length > 0 && o.stableSeconds > 0) {
      await sleep(o.stableSeconds * 1000);
      stable = [];
      for (const f of candidates) {
        const again = await remote.stat(f.path).catch(() => undefined);
        if (again && sameVersion(again, f)) stable.push(f);
        else report(f, 'skipped', { reason: again ? 'still_growing' : 'vanished' });
      }
    }

    for (const [i, f] of stable.entries()) {
      if (deps.stopping?.()) {
        for (const rest of stable.slice(i)) report(rest, 'skipped', { reason: 'stopping' });
        break;
      }
      for (let attempt = 1; ; attempt++) {
        try {
          const landed = await landFile({ store, buckets, logger, remote, state, o, ds, progress: deps.progress }, f);
          report(f, landed.outcome, landed);
          break;
        } catch (e) {
          if (e instanceof PermissionDeniedError) {
            logger?.warn({ file: f.path }, `ingest-sftp: ${f.path}: permission denied; skipped, the others continue`);
            report(f, 'failed', { reason: 'permission_denied' });
            break;
          }
          logger?.warn({ file: f.path, attempt, err: (e as Error).message }, `ingest-sftp: ${f.path}: transfer failed (${(e as Error).message})`);
          if (attempt >= o.connectAttempts) {
            report(f, 'failed', { reason: e instanceof StalledError ? 'stalled' : 'transfer_error' });
            break;
          }
          await reconnect();
        }
      }
    }
  } finally {
    remote.close();
  }

  const details = summarise(source, reports);
  const c = details.counts;
  logger?.info({ counts: c, skippedByReason: details.skippedByReason }, `ingest-sftp: seen ${c.seen}, landed ${c.landed}, skipped ${c.skipped}, failed ${c.failed}`);
  if (c.landed === 0 && c.failed === 0) logger?.info(`ingest-sftp: nothing new to land`);
  // Files, not rows: the pass's rows are counted by validate-raw.
  const outcome: TaskOutcome<IngestPass> = { rows: emptyCounts(), files: [], outputs: [{ location: s3Url(rawBatch(buckets, ds)), rows: 0 }], details };
  if (c.failed > 0) {
    const why = Object.entries(details.failedByReason).map(([k, n]) => `${k} ${n}`).join(', ');
    throw new IngestFailedError(`ingest-sftp for ds=${ds}: ${c.failed} file(s) not landed (${why}); ${c.landed} landed; see s3://${buckets.lake}/${manifestKey(TASK, ds)}`, outcome);
  }
  return outcome;
}

interface LandContext {
  store: ObjectStore;
  buckets: Buckets;
  logger?: Logger;
  remote: Remote;
  state: IngestState;
  o: IngestOptions;
  ds: string;
  progress?: Progress;
}

/** Streams one file into the raw bucket, verifies the landed copy, then handles the remote file. */
async function landFile(ctx: LandContext, f: RemoteFile): Promise<Omit<FileReport, 'path' | 'size' | 'mtime'>> {
  const { store, buckets, state, remote, logger } = ctx;
  const known = state.files[f.path];
  const key = known && known.status === 'uploading' && sameVersion(known, f) ? known.key : landingKey(buckets, ctx.ds, f, known);
  state.files[f.path] = { path: f.path, size: f.size, mtime: f.mtime, key, status: 'uploading' };
  await saveState(store, buckets, state);

  const t0 = Date.now();
  const hash = createHash('sha256');
  let bytes = 0;
  const stage = ctx.progress?.stage(`landing ${f.path}`, { bytes: f.size });
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      bytes += chunk.length;
      stage?.advance({ bytes: chunk.length });
      done(null, chunk);
    },
  });
  const input = await remote.read(f.path);
  input.once('error', (e) => tap.destroy(e));
  const metadata = { 'source-path': f.path, 'source-size': String(f.size), 'source-mtime': String(f.mtime) };
  try {
    await store.put(buckets.raw, key, input.pipe(tap), rawContentType(key), metadata);
    stage?.done();
  } catch (e) {
    await removeIfPresent(store, buckets.raw, key);
    throw e;
  }
  const sha256 = hash.digest('hex');
  if (bytes !== f.size) {
    // The file changed while it was read: the copy is of no version; take it on a later pass.
    await removeIfPresent(store, buckets.raw, key);
    delete state.files[f.path];
    if (known) state.files[f.path] = known;
    await saveState(store, buckets, state);
    return { outcome: 'skipped', reason: 'changed_during_transfer' };
  }
  const landed = await objectSha(store, buckets.raw, key);
  if (landed !== sha256) {
    await removeIfPresent(store, buckets.raw, key);
    throw new ExternalError(`s3://${buckets.raw}/${key}: the landed copy's SHA-256 ${landed} differs from what was read (${sha256})`);
  }
  await finishRemote(remote, ctx.o, f, logger);
  state.files[f.path] = { path: f.path, size: f.size, mtime: f.mtime, key, status: 'landed', sha256, landedAt: new Date().toISOString() };
  await saveState(store, buckets, state);
  const seconds = Math.max((Date.now() - t0) / 1000, 0.001);
  logger?.info({ file: f.path, key, bytes, sha256 }, `ingest-sftp: landed ${f.path} as s3://${buckets.raw}/${key} (${(bytes / 1048576).toFixed(1)} MiB, ${(bytes / 1048576 / seconds).toFixed(1)} MiB/s)`);
  return { outcome: 'landed', key, sha256 };
}

/** Leaves, moves or deletes the remote file once its copy is verified. */
async function finishRemote(remote: Remote, o: IngestOptions, f: RemoteFile, logger?: Logger): Promise<void> {
  if (o.after === 'leave') return;
  if (o.after === 'delete') await remote.remove(f.path);
  else await remote.rename(f.path, posix.join(o.doneDir as string, f.relative));
  logger?.debug({ file: f.path, after: o.after }, `ingest-sftp: ${o.after === 'delete' ? 'deleted' : 'moved'} ${f.path}`);
}

async function objectSha(store: ObjectStore, bucket: string, key: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of (await store.getStream(bucket, key)) as Readable) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The SHA-256 of the object at `key` if it is a complete copy of `f` (its metadata and size say so). */
async function completeObjectSha(store: ObjectStore, bucket: string, key: string, f: RemoteFile): Promise<string | undefined> {
  const head = await store.head(bucket, key);
  if (!head || head.size !== f.size || head.metadata?.['source-path'] !== f.path || head.metadata?.['source-mtime'] !== String(f.mtime)) return undefined;
  return objectSha(store, bucket, key);
}

async function removeIfPresent(store: ObjectStore, bucket: string, key: string): Promise<void> {
  if (await store.head(bucket, key)) await store.delete(bucket, key);
}

function connectWithRetry(o: IngestOptions, logger: Logger | undefined, sleep: (ms: number) => Promise<void>): Promise<Remote> {
  return withRetries(() => Remote.connect(o.connect), {
    attempts: o.connectAttempts,
    // A wrong host key is not transient: never retried.
    retryable: (e) => !(e instanceof HostKeyMismatchError),
    sleep,
    onRetry: (attempt, delayMs, e) => logger?.warn({ attempt, delayMs }, `ingest-sftp: ${(e as Error).message}; retrying in ${delayMs} ms`),
  });
}

function summarise(source: string, files: FileReport[]): IngestPass {
  const count = (o: Outcome) => files.filter((f) => f.outcome === o).length;
  const byReason = (o: Outcome) =>
    files.filter((f) => f.outcome === o).reduce<Record<string, number>>((acc, f) => ({ ...acc, [f.reason as string]: (acc[f.reason as string] ?? 0) + 1 }), {});
  const failed = count('failed');
  return {
    source,
    counts: { seen: files.length, landed: count('landed'), skipped: count('skipped'), failed, bytes: files.filter((f) => f.outcome === 'landed').reduce((s, f) => s + f.size, 0) },
    skippedByReason: byReason('skipped'),
    failedByReason: byReason('failed'),
    files,
  };
}
