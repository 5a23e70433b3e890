/**
 * The S3 key layout: the contract between tasks (who writes what, who reads it) and the stacks
 * (Athena partition projection, Redshift COPY). Defined here once; everything else derives from it.
 */
export interface Location {
  bucket: string;
  /** Key prefix ending in '/'. */
  prefix: string;
}

export interface Buckets {
  raw: string;
  lake: string;
}

export const TABLES = {
  validated: 'validated/trips',
  quarantine: 'quarantine/trips',
  clean: 'clean/trips',
  dimRegion: 'model/dim_region',
  dimDatasource: 'model/dim_datasource',
  dimDate: 'model/dim_date',
  dimTimeOfDay: 'model/dim_time_of_day',
  dimTripGroup: 'model/dim_trip_group',
  factTrips: 'model/fact_trips',
} as const;

export type LakeTable = keyof typeof TABLES;

export function rawBatch(b: Buckets, ds: string): Location {
  return { bucket: b.raw, prefix: `trips/ingest_date=${ds}/` };
}

/** One day's partition of a lake table: s3://LAKE/<table>/ds=D/. */
export function partition(b: Buckets, table: LakeTable, ds: string): Location {
  return { bucket: b.lake, prefix: `${TABLES[table]}/ds=${ds}/` };
}

/** The whole of a lake table (all partitions). */
export function tableRoot(b: Buckets, table: LakeTable): Location {
  return { bucket: b.lake, prefix: `${TABLES[table]}/` };
}

export function manifestKey(task: string, ds: string): string {
  return `manifests/${task}/ds=${ds}/manifest.json`;
}

export function s3Url(loc: Location): string {
  return `s3://${loc.bucket}/${loc.prefix}`;
}
