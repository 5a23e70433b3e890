import { z } from 'zod';
import { baseSettings, loadConfig } from './config';
import { ConfigError } from './errors';

describe('loadConfig', () => {
  it('applies defaults and coerces numbers', () => {
    const cfg = loadConfig(baseSettings, { TRIPS_MAX_REJECT_RATIO: '0.2' });
    expect(cfg.TRIPS_MAX_REJECT_RATIO).toBe(0.2);
    expect(cfg.TRIPS_ENGINE).toBe('duckdb');
    expect(cfg.TRIPS_LAKE_BUCKET).toBe('trips-lake');
  });

  it('names a missing required variable', () => {
    expect(() => loadConfig({ TRIPS_PG_URL: z.string().url() }, {})).toThrow(new ConfigError('configuration error: TRIPS_PG_URL is missing'));
  });

  it('names every malformed variable without echoing its value', () => {
    let error: unknown;
    try {
      loadConfig(baseSettings, { TRIPS_MAX_REJECT_RATIO: 'lots', TRIPS_ENGINE: 'spark', TRIPS_PG_URL: 'hunter2-not-a-url' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toMatch(/TRIPS_MAX_REJECT_RATIO is invalid/);
    expect(message).toMatch(/TRIPS_ENGINE is invalid/);
    expect(message).toMatch(/TRIPS_PG_URL is invalid/);
    expect(message).not.toContain('hunter2');
    expect((error as ConfigError).exitCode).toBe(78);
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig(baseSettings, { TRIPS_RAW_BUCKET: '' }).TRIPS_RAW_BUCKET).toBe('trips-raw');
  });
});
