import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PIPELINE, assertValidPipeline, pipelineProblems, renderArgs, topologicalOrder, type TaskDefinition } from './definition';
import { s3Url } from '@trips/core';
import { CATALOG, catalogProblems, type TableDef } from './catalog';
import { glueTables, manifestKey, partition, partitionProjection, rawBatch, rowsLocation } from './layout';

const t = (id: string, dependsOn: string[]): TaskDefinition => ({ ...PIPELINE.tasks[0], id, dependsOn });

describe('pipeline definition', () => {
  it('orders the tasks so each follows what it depends on', () => {
    expect(topologicalOrder(PIPELINE.tasks).map((x) => x.id)).toEqual(['ingest_sftp', 'validate_raw', 'clean_stage', 'build_dimensions', 'build_facts', 'load_redshift']);
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
    expect(renderArgs(PIPELINE.tasks[1], '2018-05-28', 'manual__2018-05-28T03:00:00+00:00')).toEqual(['--ds', '2018-05-28', '--run-id', 'manual__2018-05-28T03:00:00+00:00']);
  });
});

describe('lake layout', () => {
  const b = { raw: 'r', lake: 'l' };
  it('puts each table partition under ds=D/ and raw batches under ingest_date=D/', () => {
    expect(rawBatch(b, '2018-05-28')).toEqual({ bucket: 'r', prefix: 'trips/ingest_date=2018-05-28/' });
    expect(partition(b, 'fact_trips', '2018-05-28')).toEqual({ bucket: 'l', prefix: 'model/fact_trips/ds=2018-05-28/' });
    expect(manifestKey('clean_stage', '2018-05-28')).toBe('manifests/clean_stage/ds=2018-05-28/manifest.json');
  });
});

describe('pipeline validation', () => {
  const apps = ['validate-raw', 'clean-stage', 'build-dimensions', 'build-facts', 'load-redshift', 'ingest-sftp'];
  it('finds nothing wrong with the committed definition', () => {
    expect(pipelineProblems(PIPELINE, apps)).toEqual([]);
  });

  it('names each problem: unknown app, missing ds, Fargate size, cycle, bad id', () => {
    const bad = {
      ...PIPELINE,
      tasks: [
        { ...PIPELINE.tasks[0], id: 'a', app: 'no-such-app', dependsOn: ['b'] },
        { ...PIPELINE.tasks[0], id: 'b', args: ['--ds', '2018-05-28'], dependsOn: ['a'] },
        { ...PIPELINE.tasks[0], id: 'c', cpu: 1024, memoryMiB: 1000 },
        { ...PIPELINE.tasks[0], id: 'Bad-Id', cpu: 300 },
      ],
    };
    const problems = pipelineProblems(bad, apps);
    expect(problems).toEqual([
      'ingestTask ingest_sftp is not one of the tasks',
      'task a: app "no-such-app" is not a folder under apps/',
      'task b: its args never pass the logical date ({{ ds }})',
      'task c: memory 1000 MiB does not fit cpu 1024 (2048–8192 MiB in steps of 1024)',
      'task Bad-Id: id must match /^[a-z][a-z0-9_]*$/',
      'task Bad-Id: cpu 300 is not a Fargate size (256, 512, 1024, 2048, 4096, 8192, 16384)',
      'cycle through task a',
    ]);
    expect(() => assertValidPipeline(bad, apps)).toThrow('is invalid:\n  - ingestTask ingest_sftp is not one of the tasks\n  - task a: app "no-such-app"');
  });
});

describe('Athena partition projection', () => {
  it('computes the same location as the layout for every lake table, the quarantine pointing at its rows only', () => {
    const b = { raw: 'r', lake: 'l' };
    for (const table of CATALOG) {
      const template = partitionProjection(b, table)['storage.location.template'];
      expect(template.replace('${ds}', '2018-05-28')).toBe(s3Url(rowsLocation(b, table, '2018-05-28')));
    }
    expect(s3Url(rowsLocation(b, 'quarantined_trips', '2018-05-28'))).toBe('s3://l/quarantine/trips/ds=2018-05-28/rows/');
  });
});

describe('the table catalog', () => {
  it('is sound: unique ids and paths, keys, tests and relationships naming real columns and earlier tables', () => {
    expect(catalogProblems()).toEqual([]);
  });

  it('names every problem of a broken entry', () => {
    const fact = CATALOG.find((t) => t.id === 'fact_trips') as TableDef;
    const broken: TableDef[] = [
      ...CATALOG,
      {
        ...fact,
        id: 'Bad',
        path: 'model/fact_trips',
        key: ['nope'],
        tests: { relationships: [{ column: 'region_key', to: 'dim_nowhere', field: 'x' }] },
        model: { inputs: ['ghost'], accounting: 'members' },
        warehouse: { load: 'replace-partition', redshift: { diststyle: 'even' }, distinctValues: ['trip_ts', 'colour'] },
      },
    ];
    expect(catalogProblems(broken)).toEqual([
      'table fact_trips: path model/fact_trips is another table\'s too',
      'table Bad: id must be lowercase letters, digits and _',
      'table Bad: path model/fact_trips is another table\'s too',
      'table Bad: the key names nope, which is not one of its columns',
      'table Bad: relationship to dim_nowhere, which is not a table defined before it',
      'table Bad: its model reads ghost, which is not in the catalog',
      // A set of values only a merged table (which never loses a member) can keep.
      'table Bad: distinctValues names trip_ts, but only a merged table (which never loses a member) keeps a set of its values',
      'table Bad: distinctValues names colour, which is not one of its columns',
      'table Bad: distinctValues names colour, but only a merged table (which never loses a member) keeps a set of its values',
    ]);
  });
});

describe('the Glue tables', () => {
  const tables = glueTables({ raw: 'r', lake: 'l' });
  const byName = Object.fromEntries(tables.map((t) => [t.name, t]));

  it('has one per catalog table, located and typed from the catalog, the quarantine\'s reading its rows part only', () => {
    expect(tables.map((t) => t.name)).toEqual(CATALOG.map((t) => t.id));
    expect(byName.quarantined_trips.parameters['storage.location.template']).toBe('s3://l/quarantine/trips/ds=${ds}/rows/');
    expect(byName.dim_date).toMatchObject({
      location: 's3://l/model/dim_date/',
      format: 'parquet',
      partitionKeys: [{ name: 'ds', type: 'string' }],
      columns: expect.arrayContaining([{ name: 'date_key', type: 'int' }, { name: 'calendar_date', type: 'date' }]),
    });
    expect(byName.fact_trips.columns.slice(0, 3)).toEqual([{ name: 'trip_id', type: 'string' }, { name: 'trip_ts', type: 'timestamp' }, { name: 'origin_lon', type: 'double' }]);
    expect(byName.dim_date.parameters['storage.location.template']).toBe('s3://l/model/dim_date/ds=${ds}/');
  });

  it('reads the validated rows as Parquet, their fields text and the line a number, and the quarantine as CSV text, skipping its header', () => {
    expect(byName.validated_trips.columns.map((c) => c.type)).toEqual(['string', 'bigint', 'string', 'string', 'string', 'string', 'string']);
    expect(byName.validated_trips.serde.library).toBe('org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe');
    expect(byName.validated_trips.parameters['skip.header.line.count']).toBeUndefined();
    expect(byName.quarantined_trips.columns.every((c) => c.type === 'string')).toBe(true);
    expect(byName.quarantined_trips.parameters['skip.header.line.count']).toBe('1');
    expect(byName.quarantined_trips.serde).toEqual({ library: 'org.apache.hadoop.hive.serde2.OpenCSVSerde', parameters: { separatorChar: ',', quoteChar: '"', escapeChar: '\\' } });
    expect(byName.clean_trips.serde.library).toBe('org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe');
    expect(byName.clean_trips.parameters['skip.header.line.count']).toBeUndefined();
  });
});
