import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { addCounts, addReasons, counted, DataError, emptyCounts, GateError, makeScratchDir, recordTask, s3Url, type FileAccount, type Logger, type Progress, type TaskManifest } from '@trips/core';
import { manifestKey, partition, rawBatch, tableOfLayer, taskOfApp, type Buckets } from '@trips/pipeline';
import type { ObjectStore } from '@trips/storage';
import { CheckPool } from './check-pool';
import type { DateRange } from './rules';
import { validateFile } from './validate-file';
import { ValidatedParquet } from './validated-parquet';

/** How a validated object's name ends: the validated layer is Parquet (validated-parquet.ts). */
export const VALIDATED_SUFFIX = '.parquet';

/** This app's task id in the pipeline definition: its manifest folder. */
export const TASK = taskOfApp('validate-raw').id;

export interface ValidateDeps {
  /** The run this task belongs to (recorded in the manifest). */
  runId?: string;
  store: ObjectStore;
  buckets: Buckets;
  /** Local scratch folder for the per-file outputs before upload. */
  workDir: string;
  /** Above this share of rejected rows or refused bytes (0..1) the task fails, after writing its outputs. */
  maxRejectRatio: number;
  /** Trip dates accepted (all when absent). */
  tripDates?: DateRange;
  /** Worker threads checking the rows beside the thread reading them (check-pool.ts): one per core by default; 0 for none. */
  checkWorkers?: number;
  logger?: Logger;
  progress?: Progress;
}

/**
 * The name a raw object's outputs take: a hash of its whole key, then its name made safe. Two
 * distinct raw objects (`north/trips.csv` and `south/trips.csv`, `x.csv` and `x.CSV`) never share
 * an output, and no output name starts with `_` or `.`, which Athena and Hive skip as hidden files.
 */
export function outputName(rawKey: string): string {
  const hash = createHash('sha256').update(rawKey).digest('hex').slice(0, 16);
  const stem = posix.basename(rawKey).replace(/\.[^.]*$/, '').replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 80);
  return `${hash}-${stem}`;
}

/**
 * Validates the raw batch of `ds`: every object under s3://RAW/trips/ingest_date=D/ is one input
 * file, whatever its name. Accepted rows go to validated/trips/ds=D/<name>.parquet, rejected
 * rows with their reason to quarantine/trips/ds=D/rows/<name>.csv, refused files byte for byte to
 * quarantine/trips/ds=D/files/ (<name> from `outputName`). Both partitions are replaced, so a
 * rerun leaves what one run leaves.
 *
 * The gate: the task fails (after writing everything) when the rejected share of the rows read, or
 * the share of the batch's bytes in files refused whole, is above `maxRejectRatio`; and always when
 * every file was refused, since then nothing is left to load.
 */
export async function runValidateRaw(deps: ValidateDeps, ds: string): Promise<TaskManifest> {
  const { store, buckets, logger } = deps;
  return recordTask({ task: TASK, ds, runId: deps.runId, logger, save: (m) => store.putJson(buckets.lake, manifestKey(TASK, ds), m) }, async () => {
    const raw = rawBatch(buckets, ds);
    const inputs = (await store.listAll(raw.bucket, raw.prefix)).filter((o) => !(o.key.endsWith('/') && o.size === 0));
    if (inputs.length === 0) throw new DataError(`no raw files under ${s3Url(raw)}: nothing was delivered for ds=${ds} (land files first)`);
    const validated = partition(buckets, tableOfLayer('validated'), ds);
    const quarantine = partition(buckets, tableOfLayer('quarantine'), ds);
    await store.deletePrefix(validated.bucket, validated.prefix);
    await store.deletePrefix(quarantine.bucket, quarantine.prefix);
    const rowsOfQuarantine = tableOfLayer('quarantine').rowsFolder ?? '';

    const scratch = await makeScratchDir(deps.workDir, 'validate');
    const files: FileAccount[] = [];
    const stage = deps.progress?.stage(`validating ${inputs.length} raw file(s)`, { bytes: inputs.reduce((s, o) => s + o.size, 0) });
    const pool = deps.checkWorkers === 0 ? undefined : CheckPool.start(deps.checkWorkers);
    const parquet = new ValidatedParquet({ spillDir: scratch });
    try {
      for (const input of inputs) {
        const name = outputName(input.key);
        const okPath = join(scratch, `${name}.valid.csv`);
        const badPath = join(scratch, `${name}.rejects.csv`);
        const body = await store.getStream(raw.bucket, input.key);
        const result = await validateFile(input.key, stage ? counted(body, stage) : body, okPath, badPath, { dates: deps.tripDates, logger, pool });
        stage?.advance({ rows: result.account.rows.read });
        files.push(result.account);
        if (result.fileReason) {
          logger?.warn({ file: input.key, reason: result.account.reason }, `validate-raw: quarantined the whole file ${input.key}`);
          const ext = posix.extname(input.key).replace(/[^A-Za-z0-9.]/g, '');
          await store.put(quarantine.bucket, `${quarantine.prefix}files/${name}${ext}`, await store.getStream(raw.bucket, input.key));
          await store.putJson(quarantine.bucket, `${quarantine.prefix}files/${name}.reason.json`, { file: input.key, reason: result.account.reason });
          continue;
        }
        const okParquet = join(scratch, `${name}${VALIDATED_SUFFIX}`);
        await parquet.convert(input.key, okPath, okParquet, result.account.rows.passed);
        await rm(okPath);
        await store.upload(okParquet, validated.bucket, `${validated.prefix}${name}${VALIDATED_SUFFIX}`, 'application/vnd.apache.parquet');
        await rm(okParquet);
        if (result.account.rows.rejected > 0) await store.upload(badPath, quarantine.bucket, `${quarantine.prefix}${rowsOfQuarantine}${name}.csv`, 'text/csv');
        logger?.info({ file: input.key, rows: result.account.rows }, `validate-raw: ${input.key} done`);
      }
      stage?.done();
    } finally {
      await pool?.close();
      await parquet.close();
      await rm(scratch, { recursive: true, force: true });
    }

    const rows = files.reduce((sum, f) => addCounts(sum, f.rows), emptyCounts());
    const rejectedByReason = files.reduce((acc, f) => addReasons(acc, f.rejectedByReason), {} as Record<string, number>);
    const outcome = {
      rows,
      rejectedByReason,
      files,
      outputs: [
        { location: s3Url(validated), rows: rows.passed },
        { location: s3Url(quarantine), rows: rows.rejected },
      ],
    };
    const refused = files.filter((f) => f.status === 'quarantined');
    if (refused.length === files.length) {
      throw new GateError(`every file of the batch was refused whole (${refused.map((f) => `${f.file}: ${f.reason?.split(':')[0]}`).join('; ')}); nothing to load for ds=${ds}; the files are in ${s3Url(quarantine)}files/`, outcome);
    }
    const gate = gateProblem(files, rows, rejectedByReason, deps.maxRejectRatio);
    if (gate) throw new GateError(`${gate}; rejected rows are in ${s3Url(quarantine)}${rowsOfQuarantine}, refused files in ${s3Url(quarantine)}files/`, outcome);
    return outcome;
  });
}

const percent = (r: number) => `${(r * 100).toFixed(2)}%`;

/** Why the batch fails the gate, or undefined: rejected rows and refused files are each measured against the threshold. */
function gateProblem(files: FileAccount[], rows: { read: number; rejected: number }, byReason: Record<string, number>, max: number): string | undefined {
  const rowRatio = rows.read === 0 ? 0 : rows.rejected / rows.read;
  const totalBytes = files.reduce((s, f) => s + (f.bytes ?? 0), 0);
  const refused = files.filter((f) => f.status === 'quarantined');
  const refusedBytes = refused.reduce((s, f) => s + (f.bytes ?? 0), 0);
  const byteRatio = totalBytes === 0 ? 0 : refusedBytes / totalBytes;
  const problems: string[] = [];
  if (rowRatio > max) {
    const top = Object.entries(byReason)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 3)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ');
    problems.push(`reject ratio ${percent(rowRatio)} (${rows.rejected} of ${rows.read} rows) exceeds the threshold ${percent(max)}; top reasons: ${top}`);
  }
  if (byteRatio > max) {
    problems.push(`files refused whole hold ${percent(byteRatio)} of the batch's bytes (${refused.length} of ${files.length} files: ${refused.map((f) => f.file).join(', ')}), more than the threshold ${percent(max)}`);
  }
  return problems.length > 0 ? problems.join('; ') : undefined;
}
