import { awsToolsPython } from '@trips/local';
import { sqlglot } from '@trips/testing';
import { readdirSync } from 'node:fs';
import { aggregateDeltaStatements } from './aggregates';
import { QUESTIONS_DIR, questionSql, weeklyByBoxScan } from './queries';
import { bootstrapStatements } from './bootstrap';
import { warehouseTables } from '@trips/pipeline';

const WAREHOUSE_TABLES = warehouseTables();
import { RedshiftWarehouse } from './redshift-warehouse';
import { BatchExecuteStatementCommand, DescribeStatementCommand, GetStatementResultCommand, RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import { mockClient } from 'aws-sdk-client-mock';

// Without a Redshift to run them on, every statement the Redshift adapter sends is at least parsed
// as Redshift SQL by sqlglot (Python, from .venv/aws).
describe('the SQL the Redshift adapter sends parses as Redshift SQL', () => {
  const python = awsToolsPython();
  const rsd = mockClient(RedshiftDataClient);
  afterAll(() => rsd.restore());

  it('covers the bootstrap (roles, schema DDL, grants) and every table load, facts with their aggregate refresh', async () => {
    if (!python) return console.warn('skipped (no Python 3.10+)');
    rsd.on(BatchExecuteStatementCommand).resolves({ Id: 'b' });
    rsd.on(DescribeStatementCommand).resolves({ Id: 'b', Status: 'FINISHED', SubStatements: [] });
    rsd.on(GetStatementResultCommand).resolves({ Records: [[{ longValue: 0 }]] });
    const wh = new RedshiftWarehouse({ timeoutMs: 3_600_000, client: new RedshiftDataClient({ region: 'eu-central-1' }), target: { workgroupName: 'w', database: 'dev' }, copyRoleArn: 'arn:aws:iam::1:role/r', sleep: async () => undefined });
    for (const table of WAREHOUSE_TABLES) await wh.loadTable({
        table,
        source: { bucket: 'lake', prefix: `model/${table.id}/ds=2018-05-28/` },
        files: [{ key: `model/${table.id}/ds=2018-05-28/part-00000-0a1b2c3d.parquet`, size: 4096 }],
        manifest: { bucket: 'lake', key: `manifests/load_redshift/ds=2018-05-28/copy/${table.id}.manifest` },
        ds: '2018-05-28',
      });
    const sent = rsd.commandCalls(BatchExecuteStatementCommand).flatMap((c) => c.args[0].input.Sqls as string[]);
    expect(sent.length).toBeGreaterThan(WAREHOUSE_TABLES.length * 4 + aggregateDeltaStatements('redshift').length);
    const statements = [...bootstrapStatements('dev'), ...sent];
    const results = sqlglot(python, statements.map((sql) => ({ op: 'parse' as const, sql, read: 'redshift' })));
    const failures = results.map((r, i) => (r.ok ? undefined : `${statements[i].slice(0, 100)} → ${r.error}`)).filter(Boolean);
    expect(failures).toEqual([]);
  });

  it('covers every question file an analyst runs on Redshift', () => {
    if (!python) return console.warn('skipped (no Python 3.10+)');
    const files = readdirSync(QUESTIONS_DIR).filter((f) => f.endsWith('.sql')).map((f) => f.replace(/\.sql$/, ''));
    expect(files).toContain('weekly_trips_box_both');
    expect(files).toContain('weekly_trips_box_scan');
    const box = { minLon: 14.4, minLat: 50.04, maxLon: 14.48, maxLat: 50.1 };
    const statements = files.flatMap((f) =>
      f === 'weekly_trips_box_scan'
        ? (['origin', 'destination', 'both'] as const).map((match) => ({ f, sql: weeklyByBoxScan(box, match, '2018-05-28', '2018-06-04').text }))
        : (f === 'weekly_trips_box_side' ? ['origin', 'dest'] : ['']).map((side) => ({ f, sql: questionSql(f, { side }) })),
    );
    const results = sqlglot(python, statements.map(({ sql }) => ({ op: 'parse' as const, sql, read: 'redshift' })));
    expect(results.map((r, i) => (r.ok ? undefined : `${statements[i].f} → ${r.error}`)).filter(Boolean)).toEqual([]);
  });
});
