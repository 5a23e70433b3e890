import { createHash } from 'node:crypto';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { expand } from './macros';

const md5 = (s: string) => createHash('md5').update(s, 'utf8').digest('hex');

describe('macros on a real DuckDB', () => {
  let db: DuckDBInstance;
  let con: DuckDBConnection;
  const value = async (template: string, vars = {}) => {
    const reader = await con.runAndReadAll(`select ${expand(template, 'duckdb', vars)} as v`);
    return reader.getRowObjectsJson()[0].v;
  };
  beforeAll(async () => {
    db = await DuckDBInstance.create(':memory:');
    con = await db.connect();
  });
  afterAll(() => {
    con.closeSync();
    db.closeSync();
  });

  it('gives the md5 hex of the text for a one-part surrogate key (test vector: Prague)', async () => {
    expect(md5('Prague')).toBe('a71105026dfe9155f7ac4d18e494a40b');
    expect(await value("{{ surrogate_key('Prague') }}")).toBe('a71105026dfe9155f7ac4d18e494a40b');
  });

  it('joins parts with | and replaces nulls by the sentinel, integers as their decimal text', async () => {
    expect(await value("{{ surrogate_key('Prague', null, cast(-42 as bigint), 'funny_car') }}")).toBe(md5('Prague|_null_|-42|funny_car'));
    expect(await value("{{ surrogate_key('São Paulo') }}")).toBe(md5('São Paulo'));
  });

  it('parses timestamps with a space or a T and optional fractions, and prints them to the second', async () => {
    for (const text of ['2018-05-28 09:03:40', ' 2018-05-28T09:03:40 ', '2018-05-28 09:03:40.999']) {
      const parsed = expand(`{{ parse_ts('${text}') }}`, 'duckdb', {});
      expect(await value(`{{ ts_text(${parsed}) }}`)).toBe('2018-05-28 09:03:40');
    }
  });

  it('title-cases words after collapsing whitespace', async () => {
    const collapsed = expand("{{ collapse_ws('  sÃO   pAULO\tcity ') }}", 'duckdb', {});
    expect(await value(`{{ initcap(${collapsed}) }}`)).toBe('São Paulo City');
  });

  it('reads longitude and latitude from WKT and prints a canonical point', async () => {
    const c = "'point(14.4973794438195   50.00136875782316) '";
    expect(await value(`{{ wkt_lon(${c}) }}`)).toBe(14.4973794438195);
    expect(await value(`{{ wkt_lat(${c}) }}`)).toBe(50.00136875782316);
    expect(await value(`{{ wkt_text(${c}) }}`)).toBe('POINT (14.4973794438195 50.00136875782316)');
    // Text that is no point: empty parts, as a match per group gives (validate-raw refuses such rows before).
    expect(await value(`{{ wkt_text('POINT (1)') }}`)).toBe('POINT ( )');
    expect(await value('{{ wkt_lon(cast(null as varchar)) }}')).toBeNull();
  });

  it('computes ISO week fields across a year boundary', async () => {
    const d = "date '2018-12-31'";
    expect(await value(`{{ date_key(${d}) }}`)).toBe(20181231);
    expect(await value(`{{ iso_year(${d}) }}`)).toBe(2019);
    expect(await value(`{{ iso_week(${d}) }}`)).toBe(1);
    expect(await value(`{{ iso_day_of_week(${d}) }}`)).toBe(1);
    expect(await value("{{ week_start(date '2019-01-06') }}")).toBe('2018-12-31');
  });

  it('places coordinates in grid cells (negative ones rounding down) and times in buckets', async () => {
    const vars = { cell_size_deg: '0.01', bucket_minutes: 15 };
    expect(await value('{{ grid_cell(14.4973794438195) }}', vars)).toBe(1449); // an integer, 4 bytes
    expect(await value('{{ grid_cell(-0.001) }}', vars)).toBe(-1);
    expect(await value("{{ time_bucket(timestamp '2018-05-28 09:44:59') }}", vars)).toBe(38);
  });
});
