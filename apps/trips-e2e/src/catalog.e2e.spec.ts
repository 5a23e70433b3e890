import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, SAMPLE, tripsJson, type RunJson } from './trips';

// Adding a dimension is one catalog entry and one SQL file. In a temporary copy of the workspace,
// add exactly those two and run the whole local pipeline: the new table must be built into the
// lake, checked against its contract, created and loaded in the warehouse, with nothing else
// touched.
const CATALOG_TS = join('libs', 'pipeline', 'src', 'catalog.ts');
const DIM_WEEK_SQL = join('libs', 'models', 'src', 'sql', 'dimensions', 'dim_week.sql');

const ENTRY = `  {
    id: 'dim_week',
    layer: 'dimensions',
    path: 'model/dim_week',
    format: 'parquet',
    grain: 'one row per ISO week',
    columns: [col('week_key', 'integer'), col('iso_year', 'integer'), col('iso_week', 'integer'), col('week_start_date', 'date')],
    key: ['week_key'],
    tests: { unique: [['week_start_date']] },
    model: { inputs: ['clean_trips'], accounting: 'members' },
    warehouse: { load: 'merge', redshift: { diststyle: 'all' } },
  },
`;

const SQL = `-- One row per ISO week in which a trip of the day's clean rows started.
with days as (select distinct cast(trip_ts as date) as d from clean_trips)
select distinct
    cast({{ iso_year(d) }} * 100 + {{ iso_week(d) }} as integer) as week_key,
    {{ iso_year(d) }} as iso_year,
    {{ iso_week(d) }} as iso_week,
    {{ week_start(d) }} as week_start_date
from days
`;

describe('adding a dimension', () => {
  let copy: string;
  let state: string;

  beforeAll(() => {
    copy = mkdtempSync(join(tmpdir(), 'trips-add-dim-'));
    state = join(copy, '.state');
    for (const entry of ['apps', 'libs', 'bin', 'package.json', 'nx.json', 'tsconfig.json', 'tsconfig.base.json']) {
      cpSync(join(ROOT, entry), join(copy, entry), { recursive: true, filter: (src) => !/[/\\](node_modules|dist|\.state)$/.test(src) });
    }
    symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'), 'dir');
    // The two changes: one entry in the catalog, before the facts; one SQL file.
    const catalog = readFileSync(join(copy, CATALOG_TS), 'utf8');
    const facts = "  {\n    id: 'fact_trips',";
    expect(catalog).toContain(facts);
    writeFileSync(join(copy, CATALOG_TS), catalog.replace(facts, `${ENTRY}${facts}`));
    writeFileSync(join(copy, DIM_WEEK_SQL), SQL);
  });
  afterAll(() => rmSync(copy, { recursive: true, force: true }));

  it('builds it into the lake, checks it, and creates and loads it in the warehouse', async () => {
    const run = await tripsJson<RunJson>(
      ['run', '--input', SAMPLE, '--ds', '2018-05-28'],
      state,
      copy,
    );
    expect(run.status).toBe('succeeded');
    const dims = run.tasks.find((t) => t.task === 'build_dimensions');
    const written = dims?.outputs?.find((o) => o.location.endsWith('/model/dim_week/ds=2018-05-28/'));
    expect(written?.rows).toBeGreaterThan(0);
    const load = run.tasks.find((t) => t.task === 'load_redshift');
    expect(load?.files.find((f) => f.file.endsWith('dim_week'))?.rows.passed).toBe(written?.rows);

    // In the warehouse: exactly the weeks of the dates the day's trips fall on.
    const weeks = await tripsJson<Array<Record<string, unknown>>>(['sql', 'select week_key, iso_year, iso_week, week_start_date::text as week_start_date from trips.dim_week order by week_key'], state, copy);
    const expected = await tripsJson<Array<Record<string, unknown>>>(
      ['sql', 'select distinct iso_year * 100 + iso_week as week_key, iso_year, iso_week, week_start_date::text as week_start_date from trips.dim_date order by 1'],
      state,
      copy,
    );
    expect(weeks).toEqual(expected);
    expect(weeks).toHaveLength(written?.rows ?? -1);
  });
});
