import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { addCounts, addReasons, DataError, emptyCounts, GateError, recordTask, type FileAccount, type Logger, type TaskManifest } from '@trips/core';
import { manifestKey, partition, rawBatch, s3Url, type Buckets } from '@trips/pipeline';
import type { ObjectStore } from '@trips/storage';
import { validateFile } from './validate-file';

export const TASK = 'validate-raw';

export interface ValidateDeps {
  store: ObjectStore;
  buckets: Buckets;
  /** Local scratch folder for the per-file outputs before upload. */
  workDir: string;
  /** Above this share of rejected rows (0..1) the task fails, after writing its outputs. */
  maxRejectRatio: number;
  logger?: Logger;
}

const stem = (key: string) => basename(key).replace(/\.[^.]*$/, '');

/**
 * Validates the raw batch of `ds`: every object under s3://RAW/trips/ingest_date=D/ is one input
 * file. Accepted rows go to validated/trips/ds=D/<stem>.csv, rejected rows with their reason to
 * quarantine/trips/ds=D/rows/<stem>.csv, refused files byte for byte to quarantine/trips/ds=D/files/.
 * Both partitions are replaced, so a rerun leaves what one run leaves.
 */
export async function runValidateRaw(deps: ValidateDeps, ds: string): Promise<TaskManifest> {
  const { store, buckets, logger } = deps;
  return recordTask({ task: TASK, ds, logger, save: (m) => store.putJson(buckets.lake, manifestKey(TASK, ds), m) }, async () => {
    const raw = rawBatch(buckets, ds);
    const inputs = (await store.listAll(raw.bucket, raw.prefix)).filter((o) => !o.key.endsWith('/'));
    if (inputs.length === 0) throw new DataError(`no raw files under ${s3Url(raw)}: nothing was delivered for ds=${ds} (land files first)`);
    const validated = partition(buckets, 'validated', ds);
    const quarantine = partition(buckets, 'quarantine', ds);
    await store.deletePrefix(validated.bucket, validated.prefix);
    await store.deletePrefix(quarantine.bucket, quarantine.prefix);

    await mkdir(deps.workDir, { recursive: true });
    const scratch = await mkdtemp(join(deps.workDir, 'validate-'));
    const files: FileAccount[] = [];
    try {
      for (const [i, input] of inputs.entries()) {
        const name = `${String(i).padStart(4, '0')}-${stem(input.key)}`;
        const okPath = join(scratch, `${name}.valid.csv`);
        const badPath = join(scratch, `${name}.rejects.csv`);
        const result = await validateFile(input.key, await store.getStream(raw.bucket, input.key), okPath, badPath, logger);
        files.push(result.account);
        if (result.fileReason) {
          logger?.warn({ file: input.key, reason: result.account.reason }, `validate-raw: quarantined the whole file ${input.key}`);
          await store.put(quarantine.bucket, `${quarantine.prefix}files/${basename(input.key)}`, await store.getStream(raw.bucket, input.key));
          await store.putJson(quarantine.bucket, `${quarantine.prefix}files/${basename(input.key)}.reason.json`, { file: input.key, reason: result.account.reason });
          continue;
        }
        await store.upload(okPath, validated.bucket, `${validated.prefix}${stem(input.key)}.csv`, 'text/csv');
        if (result.account.rows.rejected > 0) await store.upload(badPath, quarantine.bucket, `${quarantine.prefix}rows/${stem(input.key)}.csv`, 'text/csv');
        logger?.info({ file: input.key, rows: result.account.rows }, `validate-raw: ${input.key} done`);
      }
    } finally {
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
    const ratio = rows.read === 0 ? 0 : rows.rejected / rows.read;
    if (ratio > deps.maxRejectRatio) {
      const top = Object.entries(rejectedByReason)
        .sort((a, b) => b[1] - a[1])
        .slice(0, 3)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ');
      throw new GateError(
        `reject ratio ${(ratio * 100).toFixed(2)}% (${rows.rejected} of ${rows.read} rows) passes the threshold ${(deps.maxRejectRatio * 100).toFixed(2)}%; top reasons: ${top}; rejected rows are in ${s3Url(quarantine)}rows/`,
        outcome,
      );
    }
    return outcome;
  });
}
