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

/** The lock a run holds on its day (lake bucket): one run of a ds at a time. */
export function lockKey(ds: string): string {
  return `locks/ds=${ds}.json`;
}

export function s3Url(loc: Location): string {
  return `s3://${loc.bucket}/${loc.prefix}`;
}

/**
 * The Glue table over each lake table (Athena reads inputs by these names; they are the model
 * names the SQL uses). The stacks create them with partitionProjection below.
 */
export const GLUE_TABLES: Record<LakeTable, string> = {
  validated: 'validated_trips',
  quarantine: 'quarantined_trips',
  clean: 'clean_trips',
  dimRegion: 'dim_region',
  dimDatasource: 'dim_datasource',
  dimDate: 'dim_date',
  dimTimeOfDay: 'dim_time_of_day',
  dimTripGroup: 'dim_trip_group',
  factTrips: 'fact_trips',
};

/**
 * Table properties for Athena partition projection on `ds`: Athena computes the partition's S3
 * location from the template (the same layout `partition` gives), so no task ever runs MSCK REPAIR
 * or adds partitions.
 */
export function partitionProjection(b: Buckets, table: LakeTable, firstDs = '2018-01-01'): Record<string, string> {
  return {
    'projection.enabled': 'true',
    'projection.ds.type': 'date',
    'projection.ds.format': 'yyyy-MM-dd',
    'projection.ds.range': `${firstDs},NOW`,
    'projection.ds.interval': '1',
    'projection.ds.interval.unit': 'DAYS',
    'storage.location.template': `s3://${b.lake}/${TABLES[table]}/ds=\${ds}/`,
  };
}
