import { execFileSync } from 'node:child_process';

/**
 * How raw files reach the raw bucket:
 * - `sftp-watcher` (default): ingest-sftp runs as an ECS service with --watch and lands each file
 *   as it arrives; the raw bucket's events start the DAG's runs (which then have no ingest task);
 * - `sftp-scheduled`: the DAG runs on its schedule and its ingest_sftp task pulls the files; no
 *   events;
 * - `transfer-family`: the partner pushes to an AWS Transfer Family SFTP server whose managed
 *   workflow copies each upload into the day's batch; the events start the runs.
 */
export type Ingestion = 'sftp-watcher' | 'sftp-scheduled' | 'transfer-family';

/** One deployment of the same stacks: only these values differ between dev and prod. */
export interface Environment {
  name: 'dev' | 'prod';
  region: string;
  /** Two zones of the region: subnets, endpoints and Redshift span both. */
  availabilityZones: [string, string];
  vpcCidr: string;
  ingestion: Ingestion;
  /** The partner's SFTP server (sftp-* ingestion). Its password goes into the secret the stack creates, by hand. */
  partner: { host: string; port: number; user: string; hostKeySha256: string; dir: string; cidr: string };
  /** Image tag every task definition runs: the git commit the images were built from. */
  imageTag: string;
  logRetentionDays: number;
  /** Athena: the most a single query may scan, per the workgroup's enforced configuration. */
  athenaBytesScannedCutoff: number;
  redshift: { baseCapacity: number; maxCapacity: number };
  mwaa: { environmentClass: string; airflowVersion: string; minWorkers: number; maxWorkers: number };
  /** Days a deleted KMS key can still be recovered. */
  keyDeletionWindowDays: number;
  /** prod keeps its buckets' data when the stack is destroyed. */
  forceDestroy: boolean;
}

/** The commit the synthesised task definitions run (TRIPS_IMAGE_TAG overrides; images are tagged with it: docs/deploy.md). */
function imageTag(env: NodeJS.ProcessEnv): string {
  if (env.TRIPS_IMAGE_TAG) return env.TRIPS_IMAGE_TAG;
  try {
    return execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unversioned';
  }
}

/**
 * The environments, from the shell's settings with examples as defaults (docs/deploy.md lists
 * them): TRIPS_AWS_REGION, TRIPS_INGESTION, TRIPS_PARTNER_SFTP_HOST, …_PORT, …_USER, …_HOST_KEY,
 * …_DIR, …_CIDR, TRIPS_IMAGE_TAG.
 */
export function environments(env: NodeJS.ProcessEnv = process.env): Environment[] {
  const region = env.TRIPS_AWS_REGION ?? 'eu-central-1';
  const ingestion = (env.TRIPS_INGESTION ?? 'sftp-watcher') as Ingestion;
  if (!['sftp-watcher', 'sftp-scheduled', 'transfer-family'].includes(ingestion)) throw new Error(`TRIPS_INGESTION must be sftp-watcher, sftp-scheduled or transfer-family, got ${ingestion}`);
  const partner = {
    host: env.TRIPS_PARTNER_SFTP_HOST ?? 'sftp.partner.example',
    port: Number(env.TRIPS_PARTNER_SFTP_PORT ?? 22),
    user: env.TRIPS_PARTNER_SFTP_USER ?? 'trips',
    hostKeySha256: env.TRIPS_PARTNER_SFTP_HOST_KEY ?? 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    dir: env.TRIPS_PARTNER_SFTP_DIR ?? '/outbox',
    cidr: env.TRIPS_PARTNER_SFTP_CIDR ?? '203.0.113.10/32',
  };
  const common = { region, availabilityZones: [`${region}a`, `${region}b`] as [string, string], ingestion, partner, imageTag: imageTag(env), logRetentionDays: 365 };
  // What differs between the environments: sizes, limits and how much a deletion may take away.
  const sizes = [
    { name: 'dev', vpcCidr: '10.40.0.0/16', scanGiB: 10, rpu: [8, 32], mwaa: ['mw1.micro', 1], keyDays: 7, forceDestroy: true },
    { name: 'prod', vpcCidr: '10.41.0.0/16', scanGiB: 100, rpu: [32, 128], mwaa: ['mw1.small', 4], keyDays: 30, forceDestroy: false },
  ] as const;
  return sizes.map((x) => ({
    ...common,
    name: x.name,
    vpcCidr: x.vpcCidr,
    athenaBytesScannedCutoff: x.scanGiB * 1024 ** 3,
    redshift: { baseCapacity: x.rpu[0], maxCapacity: x.rpu[1] },
    mwaa: { environmentClass: x.mwaa[0], airflowVersion: '3.0.6', minWorkers: 1, maxWorkers: x.mwaa[1] },
    keyDeletionWindowDays: x.keyDays,
    forceDestroy: x.forceDestroy,
  }));
}
