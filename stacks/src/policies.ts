import { bookkeeping, type DataRef, type PipelineDefinition, type TaskDefinition } from '@trips/pipeline';

/** One statement of an IAM policy document. */
export interface Statement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action: string[];
  /** Absent in a trust policy only. */
  Resource?: string | string[];
  Principal?: Record<string, string | string[]>;
  Condition?: Record<string, Record<string, string | string[] | boolean>>;
}

export const policy = (statements: Statement[]) => JSON.stringify({ Version: '2012-10-17', Statement: statements });

/** The ARNs of the stack's resources a task role's permissions name. */
export interface Arns {
  bucket: { raw: string; lake: string };
  /** The Athena workgroup, its results bucket, the Glue catalog, database and tables (`…:table/<db>/*`). */
  athena: { workgroup: string; resultsBucket: string; catalog: string; database: string; tables: string };
  /** The Athena adapter's staging prefix in the lake bucket. */
  athenaStaging: string;
  redshift: { workgroup: string };
  keys: { data: string; secrets: string };
  /** The partner's SFTP credentials. */
  sftpSecret: string;
}

/** `validated/trips/ds={{ ds }}/` as an IAM object pattern: `validated/trips/ds=*` + `/*`. */
export function keyPattern(prefix: string): string {
  return prefix.replace(/\{\{\s*\w+\s*\}\}/g, '*');
}

/** The tasks of the definition an app runs (the release step runs the final app with --release-lock). */
export function tasksOfApp(def: PipelineDefinition, app: string, extra: TaskDefinition[] = []): TaskDefinition[] {
  return [...def.tasks, ...extra].filter((t) => t.app === app);
}

const unique = <T>(xs: T[]) => [...new Set(xs)];

/** S3 statements for reading `reads` and writing `writes` (bucket refs only), with listing limited to their prefixes. */
function s3Statements(reads: DataRef[], writes: DataRef[], a: Arns): Statement[] {
  const inBucket = (refs: DataRef[], store: 'raw' | 'lake') => unique(refs.flatMap((r) => (r.store === store ? [keyPattern(r.prefix)] : [])));
  const out: Statement[] = [];
  for (const store of ['raw', 'lake'] as const) {
    const arn = a.bucket[store];
    const read = inBucket(reads, store);
    const write = inBucket(writes, store);
    const all = unique([...read, ...write]);
    if (all.length === 0) continue;
    out.push({ Sid: `List${cap(store)}`, Effect: 'Allow', Action: ['s3:ListBucket'], Resource: arn, Condition: { StringLike: { 's3:prefix': all.map((p) => `${p}*`) } } });
    // Writers read back what they wrote (the lock's conditional writes, a partition's listing before its old files go).
    out.push({ Sid: `Read${cap(store)}`, Effect: 'Allow', Action: ['s3:GetObject'], Resource: all.map((p) => `${arn}/${p}*`) });
    if (write.length > 0) out.push({ Sid: `Write${cap(store)}`, Effect: 'Allow', Action: ['s3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload'], Resource: write.map((p) => `${arn}/${p}*`) });
  }
  return out;
}

const cap = (s: string) => s[0].toUpperCase() + s.slice(1);

/**
 * The permissions of an app's task role, derived from what its tasks read and write (the pipeline
 * definition, whose lake refs come from the catalog) and which adapters they use:
 * - every task: its manifests and the day's lock (bookkeeping), the data key;
 * - a task building models (`builds`) runs Athena: the workgroup, the Glue tables it reads, the
 *   workgroup's results bucket and the staging prefix its UNLOADs write before the copy;
 * - a task writing the warehouse runs Redshift Data API statements as its IAM identity;
 * - a task reading SFTP reads the partner's secret.
 */
export function taskRoleStatements(tasks: TaskDefinition[], a: Arns): Statement[] {
  const reads = tasks.flatMap((t) => t.reads);
  const writes = tasks.flatMap((t) => [...t.writes, ...bookkeeping(t)]);
  const athena = tasks.some((t) => t.builds !== undefined);
  const warehouse = writes.some((r) => r.store === 'warehouse');
  const sftp = reads.some((r) => r.store === 'sftp');
  const out = s3Statements(reads, athena ? [...writes, { store: 'lake', prefix: a.athenaStaging }] : writes, a);
  out.push({ Sid: 'DataKey', Effect: 'Allow', Action: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'], Resource: a.keys.data });
  if (athena) {
    out.push({ Sid: 'Athena', Effect: 'Allow', Action: ['athena:StartQueryExecution', 'athena:GetQueryExecution', 'athena:GetQueryResults', 'athena:StopQueryExecution', 'athena:GetWorkGroup'], Resource: a.athena.workgroup });
    out.push({ Sid: 'Glue', Effect: 'Allow', Action: ['glue:GetDatabase', 'glue:GetTable', 'glue:GetTables', 'glue:GetPartition', 'glue:GetPartitions'], Resource: [a.athena.catalog, a.athena.database, a.athena.tables] });
    out.push({ Sid: 'AthenaResults', Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload'], Resource: `${a.athena.resultsBucket}/*` });
    out.push({ Sid: 'AthenaResultsBucket', Effect: 'Allow', Action: ['s3:ListBucket', 's3:GetBucketLocation'], Resource: a.athena.resultsBucket });
    out.push({ Sid: 'LakeLocation', Effect: 'Allow', Action: ['s3:GetBucketLocation'], Resource: a.bucket.lake });
  }
  if (warehouse) {
    out.push({ Sid: 'RedshiftData', Effect: 'Allow', Action: ['redshift-data:ExecuteStatement', 'redshift-data:BatchExecuteStatement'], Resource: a.redshift.workgroup });
    // The Data API's statement-level actions take no resource: a caller sees only its own statements.
    out.push({ Sid: 'RedshiftDataStatements', Effect: 'Allow', Action: ['redshift-data:DescribeStatement', 'redshift-data:GetStatementResult', 'redshift-data:CancelStatement'], Resource: '*' });
    out.push({ Sid: 'RedshiftCredentials', Effect: 'Allow', Action: ['redshift-serverless:GetCredentials'], Resource: a.redshift.workgroup });
  }
  if (sftp) {
    out.push({ Sid: 'PartnerSecret', Effect: 'Allow', Action: ['secretsmanager:GetSecretValue'], Resource: a.sftpSecret });
    out.push({ Sid: 'SecretsKey', Effect: 'Allow', Action: ['kms:Decrypt'], Resource: a.keys.secrets });
  }
  return out;
}
