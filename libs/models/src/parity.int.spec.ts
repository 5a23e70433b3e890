import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { awsToolsPython } from '@trips/local';
import { sqlglot } from '@trips/testing';
import { expand } from './macros';
import { modelTables, renderModel } from './models';

/**
 * SQL parity without an AWS account: the Athena (Trino) rendering of every model must parse as
 * Trino SQL (sqlglot), and mean the same as the DuckDB rendering: transpiled from Trino to DuckDB by
 * sqlglot and run on the committed sample, it must return exactly the rows the DuckDB rendering
 * returns. Python and sqlglot come from .venv/aws (tools/python/requirements-aws.txt).
 */
const SAMPLE = join(__dirname, '..', '..', 'testing', 'fixtures', 'sample', 'trips-sample.csv');
const VARS = { cell_size_deg: '0.01', bucket_minutes: 60 };
const ORDER = modelTables().map((t) => t.id);

describe('Athena and DuckDB renderings of the models agree', () => {
  const python = awsToolsPython();
  let db: DuckDBInstance;
  let con: DuckDBConnection;
  const rows = async (sql: string) => {
    const reader = await con.runAndReadAll(sql);
    return reader.getRowObjectsJson().map((r) => JSON.stringify(r)).sort();
  };

  beforeAll(async () => {
    db = await DuckDBInstance.create(':memory:');
    con = await db.connect();
    // validated_trips as validate-raw leaves it: every field text, with the file and the line (a
    // number) it came from; the sample's malformed rows (which validate-raw quarantines) are left out.
    await con.run(`
      create table validated_trips as
      select 'trips-sample.csv' as source_file, cast(row_number() over () + 1 as bigint) as line_no, *
      from read_csv('${SAMPLE}', all_varchar = true, header = true, ignore_errors = true)
      where region is not null and trim(region) <> '' and datasource is not null and trim(datasource) <> ''
        and try_cast(substr(replace(trim(datetime), 'T', ' '), 1, 19) as timestamp) is not null
        and regexp_full_match(trim(origin_coord), '(?i)POINT\\s*\\(\\s*-?[0-9.]+\\s+-?[0-9.]+\\s*\\)')
        and regexp_full_match(trim(destination_coord), '(?i)POINT\\s*\\(\\s*-?[0-9.]+\\s+-?[0-9.]+\\s*\\)')`);
    // Rows the normalisation must treat alike on both engines: case and spacing of names, a 'T'
    // between date and time, fractional seconds, and a repeat of a sample trip in another form.
    await con.run(`
      insert into validated_trips values
        ('extra.csv', 2, '  prague ', 'POINT (14.4973794438195 50.00136875782316)', 'POINT (14.43109483523328 50.04052930943246)', '2018-05-28T09:03:40', ' Funny_Car '),
        ('extra.csv', 3, 'Prague', 'POINT (14.4973794438195 50.00136875782316)', 'POINT (14.43109483523328 50.04052930943246)', '2018-05-28 09:03:40', 'funny_car'),
        ('extra.csv', 4, 'Turin', 'POINT (7.6 45.0)', 'POINT (7.7 45.1)', '2018-05-28 23:59:59.250', 'baba_car'),
        ('extra.csv', 5, 'hamburg', 'point( 10.0  53.6 )', 'POINT (9.9 53.5)', '2018-05-27 00:00:00', 'cheap_mobile')`);
  });
  afterAll(() => {
    con?.closeSync();
    db?.closeSync();
  });

  const itWithPython = (name: string, fn: () => Promise<void>) => it(name, async () => (python ? fn() : console.warn(`skipped (no Python 3.10+): ${name}`)));

  itWithPython('every model\'s Athena SQL parses as Trino and, transpiled to DuckDB, returns the DuckDB rendering\'s rows', async () => {
    const athena = ORDER.map((m) => renderModel(m, 'athena', VARS));
    const parsed = sqlglot(python as string, athena.map((sql) => ({ op: 'parse' as const, sql, read: 'trino' })));
    const transpiled = sqlglot(python as string, athena.map((sql) => ({ op: 'transpile' as const, sql, read: 'trino', write: 'duckdb' })));
    for (const [i, model] of ORDER.entries()) {
      expect({ model, parse: parsed[i] }).toEqual({ model, parse: { ok: true, statements: 1 } });
      const t = transpiled[i];
      if (!t.ok) throw new Error(`${model}: sqlglot could not transpile its Athena SQL: ${t.error}`);
      const duck = await rows(renderModel(model, 'duckdb', VARS));
      const fromAthena = await rows(t.sql as string);
      expect(duck.length).toBeGreaterThan(0);
      expect({ model, rows: fromAthena.length }).toEqual({ model, rows: duck.length });
      expect({ model, same: fromAthena.filter((r, j) => r !== duck[j]).slice(0, 3) }).toEqual({ model, same: [] });
      // The next models read this one's output under its name.
      if (model === 'clean_trips') await con.run(`create table clean_trips as ${renderModel(model, 'duckdb', VARS)}`);
    }
  });

  itWithPython('gives byte-identical surrogate keys from the Athena and the DuckDB expression (test vectors)', async () => {
    const vectors = ["'Prague'", "'São Paulo', 'funny_car'", "'Prague', null, cast(-42 as bigint), 'x'", "null", "'', ' ', 'ünïcödé ✓'", "cast(2018 as integer), cast(5 as bigint)"];
    const athena = vectors.map((v) => `select ${expand(`{{ surrogate_key(${v}) }}`, 'athena', {})} as k`);
    const transpiled = sqlglot(python as string, athena.map((sql) => ({ op: 'transpile' as const, sql, read: 'trino', write: 'duckdb' })));
    for (const [i, v] of vectors.entries()) {
      const t = transpiled[i];
      if (!t.ok) throw new Error(`surrogate_key(${v}): ${t.error}`);
      const [fromAthena] = await rows(t.sql as string);
      const [fromDuck] = await rows(`select ${expand(`{{ surrogate_key(${v}) }}`, 'duckdb', {})} as k`);
      expect({ v, k: fromAthena }).toEqual({ v, k: fromDuck });
      expect(JSON.parse(fromDuck).k).toMatch(/^[0-9a-f]{32}$/);
    }
  });
});
