/**
 * The table catalog: one entry per lake table, the one place a table is defined. Its id is its
 * name everywhere (Glue table, SQL model, warehouse table); its columns, grain, key and tests are
 * what the model's contract checks after writing; its path is where the layout puts it; its
 * warehouse entry says how the load replaces it and how Redshift and PostgreSQL lay it out. The
 * layout, the Glue tables of the stacks, the contracts, the warehouse DDL and loads, and the list of
 * models each task writes all derive from it. A table with a model has its SQL at
 * libs/models/src/sql/<layer>/<id>.sql.
 */
export type ColumnType = 'varchar' | 'bigint' | 'integer' | 'double' | 'timestamp' | 'date';

export interface Column {
  readonly name: string;
  readonly type: ColumnType;
  readonly nullable?: boolean;
  /** Text: longest value in UTF-8 bytes (the warehouse column's width; Redshift counts bytes). */
  readonly maxBytes?: number;
  /**
   * A surrogate key: an md5 hash as 32 hex digits (maxBytes 32). Redshift stores it as `char(32)`;
   * PostgreSQL as its 16-byte `uuid`, which reads the 32 digits as they are and compares in one
   * memcmp (half the width in every table and index that holds a key).
   */
  readonly md5Key?: boolean;
}

/** Where a table stands in the flow; models' SQL lives in a folder per layer. */
export type Layer = 'validated' | 'quarantine' | 'staging' | 'dimensions' | 'facts';

export interface Relationship {
  readonly column: string;
  /** A table written for the same ds. */
  readonly to: string;
  readonly field: string;
}

/** Data tests of a table, checked by the contract after every write (besides key and not-null columns). */
export interface TableTests {
  /** Further column sets that must be unique. */
  readonly unique?: readonly (readonly string[])[];
  readonly relationships?: readonly Relationship[];
  readonly acceptedValues?: readonly { readonly column: string; readonly values: readonly (string | number)[] }[];
  /** Exact number of rows, for fixed dimensions. */
  readonly rowCount?: number;
}

/**
 * How a task accounts for the rows of a model (read = passed + rejected + duplicates):
 * - `dedup-per-source-file`: read and passed per `source_file` of input and output, the difference
 *   being duplicates (staging);
 * - `one-per-input-row`: one output row per input row, checked (facts);
 * - `members`: the input rows are read and passed, the output is the members they use (dimensions).
 */
export type Accounting = 'dedup-per-source-file' | 'one-per-input-row' | 'members';

export interface ModelSpec {
  /** Tables the SQL reads (for the ds being built). */
  readonly inputs: readonly string[];
  /** Variables the SQL needs besides the dialect. */
  readonly vars?: readonly string[];
  readonly accounting: Accounting;
}

export interface WarehouseSpec {
  /**
   * `merge` (dimensions): insert the members whose key is not there yet. `replace-partition`
   * (facts): the day's rows are replaced; each trip is kept once, under its earliest day.
   */
  readonly load: 'merge' | 'replace-partition';
  /** Redshift: distribution (`all` for small tables joined everywhere) and compound sort key. */
  readonly redshift: { readonly diststyle: 'all' | 'key' | 'even'; readonly distKey?: string; readonly sortKey?: readonly string[] };
  /** PostgreSQL: secondary B-tree indexes (the key is the primary key). */
  readonly postgresIndexes?: readonly (readonly string[])[];
  /**
   * `merge` tables: columns whose distinct values (nulls aside) the warehouse keeps in a table of
   * their own, `<table>_<column>_values`, which each load of the table adds its new values to: a
   * question that needs them (the grid cell sizes) reads a few rows. On PostgreSQL an index of the
   * column did that, at the cost of an entry for every member inserted (0.3-0.45 s of a day's
   * 354,000 new trip groups; docs/scale.md). A merged table never loses a member, so the values
   * are those of its members.
   */
  readonly distinctValues?: readonly string[];
  /**
   * PostgreSQL (`replace-partition` tables): one list partition per ds. A load builds its day's
   * partition afresh, rows first and indexes after (a sorted build, several times cheaper than
   * inserting into live B-trees), and swaps it in; the ds joins the primary key.
   */
  readonly postgresDayPartitions?: boolean;
}

export interface TableDef {
  readonly id: string;
  readonly layer: Layer;
  /** Key prefix in the lake bucket, without the ds partition: `<path>/ds=D/`. */
  readonly path: string;
  /** Folder of the partition holding the table's rows, when the partition holds other objects too. */
  readonly rowsFolder?: string;
  readonly format: 'csv' | 'parquet';
  /** What one row is. */
  readonly grain: string;
  /** In file order: writers produce exactly these, Redshift COPY from Parquet maps them by position. */
  readonly columns: readonly Column[];
  readonly key: readonly string[];
  readonly tests?: TableTests;
  readonly model?: ModelSpec;
  readonly warehouse?: WarehouseSpec;
}

const text = (name: string, maxBytes: number, nullable = false): Column => ({ name, type: 'varchar', maxBytes, nullable });
const key = (name: string): Column => ({ name, type: 'varchar', maxBytes: 32, md5Key: true });
const col = (name: string, type: Exclude<ColumnType, 'varchar'>): Column => ({ name, type });

/**
 * Longest region or datasource name (UTF-8 bytes) accepted in a delivered row; the names are kept
 * in columns four times as wide, so that case mapping in clean-stage (which may lengthen a name,
 * e.g. ß to SS) always fits.
 */
const NAME_BYTES = 256;
const NAME = 4 * NAME_BYTES;
/** Where a row came from: the raw object's key and the physical line its record starts on. */
const PROVENANCE = [text('source_file', 1024), col('line_no', 'bigint')];

export const CATALOG = [
  {
    id: 'validated_trips',
    layer: 'validated',
    path: 'validated/trips',
    // Parquet written by validate-raw (validated-parquet.ts): the clean model reads its columns
    // instead of parsing text, and each row's source file is stored once per row group.
    format: 'parquet',
    grain: 'one row per delivered row that passed validation, its fields in canonical text form',
    // Every field as text, as delivered (the line number as a number); longer values are rejected by validate-raw.
    columns: [
      ...PROVENANCE,
      text('region', NAME_BYTES),
      text('origin_coord', 128),
      text('destination_coord', 128),
      text('datetime', 40),
      text('datasource', NAME_BYTES),
    ],
    key: ['source_file', 'line_no'],
  },
  {
    id: 'quarantined_trips',
    layer: 'quarantine',
    path: 'quarantine/trips',
    // The partition also holds files refused whole under files/.
    rowsFolder: 'rows/',
    format: 'csv',
    grain: 'one row per delivered row that failed validation, with the first rule it broke',
    columns: [...PROVENANCE, text('reason', 64), text('detail', 4096), text('raw_line', 8192)],
    key: ['source_file', 'line_no'],
  },
  {
    id: 'clean_trips',
    layer: 'staging',
    path: 'clean/trips',
    format: 'parquet',
    grain: 'one row per distinct trip of the day',
    columns: [
      key('trip_id'),
      text('region', NAME),
      text('datasource', NAME),
      col('trip_ts', 'timestamp'),
      col('origin_lon', 'double'),
      col('origin_lat', 'double'),
      col('dest_lon', 'double'),
      col('dest_lat', 'double'),
      ...PROVENANCE,
    ],
    key: ['trip_id'],
    model: { inputs: ['validated_trips'], accounting: 'dedup-per-source-file' },
  },
  {
    id: 'dim_region',
    layer: 'dimensions',
    path: 'model/dim_region',
    format: 'parquet',
    grain: 'one row per region',
    columns: [key('region_key'), text('name', NAME)],
    key: ['region_key'],
    tests: { unique: [['name']] },
    model: { inputs: ['clean_trips'], accounting: 'members' },
    warehouse: { load: 'merge', redshift: { diststyle: 'all' } },
  },
  {
    id: 'dim_datasource',
    layer: 'dimensions',
    path: 'model/dim_datasource',
    format: 'parquet',
    grain: 'one row per datasource',
    columns: [key('datasource_key'), text('name', NAME)],
    key: ['datasource_key'],
    tests: { unique: [['name']] },
    model: { inputs: ['clean_trips'], accounting: 'members' },
    warehouse: { load: 'merge', redshift: { diststyle: 'all' } },
  },
  {
    id: 'dim_date',
    layer: 'dimensions',
    path: 'model/dim_date',
    format: 'parquet',
    grain: 'one row per calendar day',
    columns: [
      col('date_key', 'integer'),
      col('calendar_date', 'date'),
      col('year', 'integer'),
      col('month', 'integer'),
      col('day', 'integer'),
      col('iso_day_of_week', 'integer'),
      col('iso_year', 'integer'),
      col('iso_week', 'integer'),
      col('week_start_date', 'date'),
    ],
    key: ['date_key'],
    tests: { acceptedValues: [{ column: 'iso_day_of_week', values: [1, 2, 3, 4, 5, 6, 7] }] },
    model: { inputs: ['clean_trips'], accounting: 'members' },
    warehouse: { load: 'merge', redshift: { diststyle: 'all' } },
  },
  {
    id: 'dim_time_of_day',
    layer: 'dimensions',
    path: 'model/dim_time_of_day',
    format: 'parquet',
    grain: 'one row per hour of the day',
    columns: [col('time_of_day_key', 'integer'), col('hour_of_day', 'integer'), text('label', 256), text('day_part', 256)],
    key: ['time_of_day_key'],
    tests: { acceptedValues: [{ column: 'day_part', values: ['night', 'morning', 'afternoon', 'evening'] }], rowCount: 24 },
    model: { inputs: [], accounting: 'members' },
    warehouse: { load: 'merge', redshift: { diststyle: 'all' } },
  },
  {
    id: 'dim_trip_group',
    layer: 'dimensions',
    path: 'model/dim_trip_group',
    format: 'parquet',
    grain: 'one row per group of similar trips: region, origin cell, destination cell, time-of-day bucket, grid settings',
    columns: [
      key('trip_group_key'),
      key('region_key'),
      col('origin_cell_x', 'integer'),
      col('origin_cell_y', 'integer'),
      col('dest_cell_x', 'integer'),
      col('dest_cell_y', 'integer'),
      col('time_bucket', 'integer'),
      col('cell_size_deg', 'double'),
      col('bucket_minutes', 'integer'),
    ],
    key: ['trip_group_key'],
    tests: { relationships: [{ column: 'region_key', to: 'dim_region', field: 'region_key' }] },
    model: { inputs: ['clean_trips'], vars: ['cell_size_deg', 'bucket_minutes'], accounting: 'members' },
    warehouse: { load: 'merge', redshift: { diststyle: 'all', sortKey: ['region_key'] }, distinctValues: ['cell_size_deg'] },
  },
  {
    id: 'fact_trips',
    layer: 'facts',
    path: 'model/fact_trips',
    format: 'parquet',
    grain: 'one row per trip',
    columns: [
      key('trip_id'),
      col('trip_ts', 'timestamp'),
      col('origin_lon', 'double'),
      col('origin_lat', 'double'),
      col('dest_lon', 'double'),
      col('dest_lat', 'double'),
      key('region_key'),
      key('datasource_key'),
      col('date_key', 'integer'),
      col('time_of_day_key', 'integer'),
      key('trip_group_key'),
      col('origin_cell_x', 'integer'),
      col('origin_cell_y', 'integer'),
      col('dest_cell_x', 'integer'),
      col('dest_cell_y', 'integer'),
    ],
    key: ['trip_id'],
    tests: {
      relationships: [
        { column: 'region_key', to: 'dim_region', field: 'region_key' },
        { column: 'datasource_key', to: 'dim_datasource', field: 'datasource_key' },
        { column: 'date_key', to: 'dim_date', field: 'date_key' },
        { column: 'time_of_day_key', to: 'dim_time_of_day', field: 'time_of_day_key' },
        { column: 'trip_group_key', to: 'dim_trip_group', field: 'trip_group_key' },
      ],
    },
    model: { inputs: ['clean_trips'], vars: ['cell_size_deg', 'bucket_minutes'], accounting: 'one-per-input-row' },
    warehouse: {
      load: 'replace-partition',
      // Even spread (every query aggregates; none joins two large tables on another key); the sort
      // key lets a day's replacement and region filters skip blocks.
      redshift: { diststyle: 'key', distKey: 'trip_id', sortKey: ['ds', 'region_key'] },
      // Only what a question or a load reads: every index costs each inserted row a B-tree write.
      postgresIndexes: [
        // A load finds the facts of its trips within the span of their timestamps; latest-datasource
        // reads a region's last week backwards for its latest trip. (A `(region_key, trip_ts)` index
        // for that was the largest and slowest to build of a day's: 34 MB and 0.9 s of a load of 1M
        // trips, for 3 ms less of that question with 100 day partitions; docs/warehouse.md.)
        ['trip_ts'],
        // The edge strips of a box: narrow in x (left, right), read as one range of x; or narrow in
        // y (top, bottom), where PostgreSQL 18's skip scan probes the index once per x. A (y, x) index
        // for those was 7 MB per million trips and a sorted build in every load; without it a box
        // whose top and bottom edges cross busy cells took 216 ms against 188 ms (4M trips).
        ['origin_cell_x', 'origin_cell_y'],
        ['dest_cell_x', 'dest_cell_y'],
      ],
      postgresDayPartitions: true,
    },
  },
] as const satisfies readonly TableDef[];

export type TableId = (typeof CATALOG)[number]['id'];

/** The catalog entry of a table; throws naming the known tables for an unknown id. */
export function table(id: string, catalog: readonly TableDef[] = CATALOG): TableDef {
  const found = catalog.find((t) => t.id === id);
  if (!found) throw new Error(`no table ${id} in the catalog (${catalog.map((t) => t.id).join(', ')})`);
  return found;
}

/** The tables of a layer, in catalog order. */
export function tablesOf(layer: Layer, catalog: readonly TableDef[] = CATALOG): TableDef[] {
  return catalog.filter((t) => t.layer === layer);
}

/** The one table of a layer that has exactly one (the validated rows, the quarantine). */
export function tableOfLayer(layer: Layer, catalog: readonly TableDef[] = CATALOG): TableDef {
  const found = tablesOf(layer, catalog);
  if (found.length !== 1) throw new Error(`layer ${layer} has ${found.length} tables in the catalog, not one`);
  return found[0];
}

/** The tables loaded into the warehouse, in load order (catalog order: dimensions before the facts that reference them). */
export function warehouseTables(catalog: readonly TableDef[] = CATALOG): Array<TableDef & { warehouse: WarehouseSpec }> {
  return catalog.filter((t): t is TableDef & { warehouse: WarehouseSpec } => t.warehouse !== undefined);
}

export function columnNames(t: TableDef): string[] {
  return t.columns.map((c) => c.name);
}

/**
 * Everything wrong with a catalog, one message per problem: ids usable as SQL and Glue names, one
 * entry per id and path, keys and tests naming columns the table has, relationships to tables
 * written earlier, model inputs that exist.
 */
export function catalogProblems(catalog: readonly TableDef[] = CATALOG): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const [i, t] of catalog.entries()) {
    const at = `table ${t.id}`;
    if (!/^[a-z][a-z0-9_]*$/.test(t.id)) problems.push(`${at}: id must be lowercase letters, digits and _`);
    if (seen.has(t.id)) problems.push(`${at}: defined twice`);
    seen.add(t.id);
    if (catalog.some((o) => o !== t && o.path === t.path)) problems.push(`${at}: path ${t.path} is another table's too`);
    const cols = new Set(columnNames(t));
    const mustHave = (c: string, what: string) => cols.has(c) || problems.push(`${at}: ${what} names ${c}, which is not one of its columns`);
    t.key.forEach((c) => mustHave(c, 'the key'));
    t.tests?.unique?.forEach((u) => u.forEach((c) => mustHave(c, 'a unique test')));
    t.tests?.acceptedValues?.forEach((a) => mustHave(a.column, 'an accepted-values test'));
    for (const r of t.tests?.relationships ?? []) {
      mustHave(r.column, 'a relationship');
      const to = catalog.slice(0, i).find((o) => o.id === r.to);
      if (!to) problems.push(`${at}: relationship to ${r.to}, which is not a table defined before it`);
      else if (!columnNames(to).includes(r.field)) problems.push(`${at}: relationship to ${r.to}.${r.field}, which has no such column`);
    }
    for (const input of t.model?.inputs ?? []) if (!catalog.some((o) => o.id === input)) problems.push(`${at}: its model reads ${input}, which is not in the catalog`);
    for (const idx of t.warehouse?.postgresIndexes ?? []) idx.forEach((c) => c === 'ds' || mustHave(c, 'an index'));
    for (const c of t.warehouse?.distinctValues ?? []) {
      mustHave(c, 'distinctValues');
      // A table whose rows a load replaces can lose a value, which its set would keep.
      if (t.warehouse?.load !== 'merge') problems.push(`${at}: distinctValues names ${c}, but only a merged table (which never loses a member) keeps a set of its values`);
    }
  }
  return problems;
}
