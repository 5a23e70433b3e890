import { baseSettings } from '@trips/core';
import { PIPELINE } from '@trips/pipeline';
import { APP_SETTINGS, appSettings, unregisteredApps } from './settings';

describe('the apps\' settings registry', () => {
  it('knows every app the pipeline runs, so the stacks give each the environment it parses', () => {
    expect(unregisteredApps()).toEqual([]);
    expect(Object.keys(APP_SETTINGS).sort()).toEqual([...new Set(PIPELINE.tasks.map((t) => t.app))].sort());
  });

  it('gives an app its own settings beside the shared ones', () => {
    const load = appSettings('load-redshift');
    expect(Object.keys(load)).toEqual(expect.arrayContaining([...Object.keys(baseSettings), 'TRIPS_REDSHIFT_WORKGROUP', 'TRIPS_REDSHIFT_TIMEOUT_SECONDS']));
    expect(Object.keys(appSettings('ingest-sftp'))).toContain('TRIPS_SFTP_HOST_KEY_SHA256');
    expect(Object.keys(appSettings('a-new-app'))).toEqual(Object.keys(baseSettings));
  });
});
