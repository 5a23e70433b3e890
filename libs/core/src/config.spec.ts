import { isAbsolute, join } from 'node:path';
import { tmpdir } from 'node:os';
import { z } from 'zod';
import { baseSettings, loadConfig } from './config';
import { ConfigError } from './errors';
import { makeScratchDir } from './scratch';

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

describe('TRIPS_WORK_DIR', () => {
  it('defaults to a folder of the temporary directory and makes a relative one absolute', () => {
    expect(loadConfig(baseSettings, {}).TRIPS_WORK_DIR).toBe(join(tmpdir(), 'trips-work'));
    const relative = loadConfig(baseSettings, { TRIPS_WORK_DIR: 'scratch/here' }).TRIPS_WORK_DIR;
    expect(isAbsolute(relative)).toBe(true);
    expect(relative).toBe(join(process.cwd(), 'scratch/here'));
  });

  it('is refused, naming the setting, when it cannot be written', async () => {
    const failure = makeScratchDir('/dev/null/work', 'duckdb');
    await expect(failure).rejects.toThrow(ConfigError);
    await expect(makeScratchDir('/dev/null/work', 'duckdb')).rejects.toThrow('TRIPS_WORK_DIR /dev/null/work is not a writable folder (ENOTDIR): point it at one');
  });
});

