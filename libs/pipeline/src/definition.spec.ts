import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PIPELINE, renderArgs, topologicalOrder, type TaskDefinition } from './definition';
import { manifestKey, partition, rawBatch } from './layout';

const t = (id: string, dependsOn: string[]): TaskDefinition => ({ ...PIPELINE.tasks[0], id, dependsOn });

describe('pipeline definition', () => {
  it('orders the tasks so each follows what it depends on', () => {
    expect(topologicalOrder(PIPELINE.tasks).map((x) => x.id)).toEqual(['validate_raw', 'clean_stage', 'build_dimensions', 'build_facts', 'load_redshift']);
    expect(topologicalOrder([t('c', ['b']), t('b', ['a']), t('a', [])]).map((x) => x.id)).toEqual(['a', 'b', 'c']);
  });

  it('refuses cycles, unknown dependencies and duplicate ids', () => {
    expect(() => topologicalOrder([t('a', ['b']), t('b', ['a'])])).toThrow('cycle through task');
    expect(() => topologicalOrder([t('a', ['nope'])])).toThrow('depends on unknown task nope');
    expect(() => topologicalOrder([t('a', []), t('a', [])])).toThrow('duplicate task id');
  });

  it('names only apps that exist under apps/', () => {
    for (const task of PIPELINE.tasks) expect(existsSync(join(__dirname, '..', '..', '..', 'apps', task.app, 'src', 'main.ts'))).toBe(true);
  });

  it('renders the logical date into the arguments', () => {
    expect(renderArgs(PIPELINE.tasks[0], '2018-05-28')).toEqual(['--ds', '2018-05-28']);
  });
});

describe('lake layout', () => {
  const b = { raw: 'r', lake: 'l' };
  it('puts each table partition under ds=D/ and raw batches under ingest_date=D/', () => {
    expect(rawBatch(b, '2018-05-28')).toEqual({ bucket: 'r', prefix: 'trips/ingest_date=2018-05-28/' });
    expect(partition(b, 'factTrips', '2018-05-28')).toEqual({ bucket: 'l', prefix: 'model/fact_trips/ds=2018-05-28/' });
    expect(manifestKey('clean-stage', '2018-05-28')).toBe('manifests/clean-stage/ds=2018-05-28/manifest.json');
  });
});
