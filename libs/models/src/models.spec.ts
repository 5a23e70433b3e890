import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { tablesOf } from '@trips/pipeline';
import { contractOf } from './contract';
import { modelTables, SQL_DIR, renderModel, sqlPath } from './models';
import { gridSettings, gridVars } from './settings';
import { loadConfig } from '@trips/core';

const vars = { cell_size_deg: '0.01', bucket_minutes: 60 };

describe('models', () => {
  it('keeps one .sql file per model of the catalog in its layer folder beside this module', () => {
    expect(SQL_DIR).toBe(join(__dirname, 'sql'));
    for (const t of modelTables()) expect(sqlPath(t)).toBe(join(SQL_DIR, t.layer, `${t.id}.sql`));
    for (const t of modelTables()) expect(existsSync(sqlPath(t))).toBe(true);
  });

  it.each(modelTables().map((t) => t.id))('renders %s for both dialects with every placeholder expanded', (name) => {
    const t = modelTables().find((m) => m.id === name)!;
    for (const dialect of ['duckdb', 'athena'] as const) {
      const sql = renderModel(t, dialect, vars);
      expect(sql).not.toContain('{{');
      expect(sql.trimEnd()).toMatch(/select \* from final$/);
      for (const input of t.model.inputs) expect(sql).toContain(`from ${input}`);
    }
  });

  it('writes dialect functions only for the engine that has them', () => {
    const duck = renderModel('fact_trips', 'duckdb', vars);
    const athena = renderModel('fact_trips', 'athena', vars);
    expect(duck).toContain('md5(concat_ws(');
    expect(duck).not.toContain('to_hex');
    expect(athena).toContain('lower(to_hex(md5(to_utf8(concat_ws(');
    expect(athena).not.toContain('//');
  });

  it('refuses to render a grid model without the grid variables', () => {
    expect(() => renderModel('dim_trip_group', 'duckdb', {})).toThrow('model dim_trip_group needs the variables cell_size_deg, bucket_minutes');
  });

  it('lists the five dimensions, each with a contract from its catalog entry naming its grain, key and columns', () => {
    expect(tablesOf('dimensions').map((t) => t.id)).toEqual(['dim_region', 'dim_datasource', 'dim_date', 'dim_time_of_day', 'dim_trip_group']);
    for (const t of modelTables()) {
      const c = contractOf(t);
      expect(c.model).toBe(t.id);
      expect(c.grain).toMatch(/^one row per /);
      expect(c.key.length).toBeGreaterThan(0);
      expect(c.columns.map((x) => x.name)).toEqual(t.columns.map((x) => x.name));
    }
  });
});

describe('grid settings', () => {
  it('defaults to 0.01 degree cells and 60 minute buckets, keeping the cell size as configured text', () => {
    expect(gridVars(loadConfig(gridSettings, {}))).toEqual({ cell_size_deg: '0.01', bucket_minutes: 60 });
    expect(gridVars(loadConfig(gridSettings, { TRIPS_GRID_CELL_DEG: '0.050', TRIPS_TIME_BUCKET_MINUTES: '15' }))).toEqual({ cell_size_deg: '0.050', bucket_minutes: 15 });
  });

  it('refuses a cell size that is not a positive decimal and a bucket that is not whole minutes of a day', () => {
    expect(() => loadConfig(gridSettings, { TRIPS_GRID_CELL_DEG: '1e-2' })).toThrow('TRIPS_GRID_CELL_DEG is invalid');
    expect(() => loadConfig(gridSettings, { TRIPS_GRID_CELL_DEG: '0.000' })).toThrow('TRIPS_GRID_CELL_DEG is invalid');
    // Cell numbers are 4-byte integers: |180 / 0.00001| would not fit.
    expect(() => loadConfig(gridSettings, { TRIPS_GRID_CELL_DEG: '0.00001' })).toThrow(/TRIPS_GRID_CELL_DEG is invalid.*at least 0\.0001/);
    expect(gridVars(loadConfig(gridSettings, { TRIPS_GRID_CELL_DEG: '0.0001' })).cell_size_deg).toBe('0.0001');
    expect(() => loadConfig(gridSettings, { TRIPS_TIME_BUCKET_MINUTES: '7.5' })).toThrow('TRIPS_TIME_BUCKET_MINUTES is invalid');
  });
});
