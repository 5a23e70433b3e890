/** Words every part of the pipeline shares, defined once. */

/** An S3 location: a bucket and a key prefix ending in '/'. */
export interface Location {
  bucket: string;
  prefix: string;
}

/** The query engines the models run on: DuckDB locally, Athena (Trino SQL) on AWS. */
export type QueryDialect = 'duckdb' | 'athena';

/** The warehouses the facts are loaded into: PostgreSQL locally, Redshift on AWS. */
export type WarehouseDialect = 'postgres' | 'redshift';

/** `s3://bucket/prefix`. */
export function s3Url(loc: Location): string {
  return `s3://${loc.bucket}/${loc.prefix}`;
}
