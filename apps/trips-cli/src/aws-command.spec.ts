import { BatchExecuteStatementCommand, DescribeStatementCommand, ExecuteStatementCommand, GetStatementResultCommand, RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import { mockClient } from 'aws-sdk-client-mock';
import { bootstrapStatements } from '@trips/warehouse';
import { awsCommand } from './aws-command';

// The Redshift Data API has no local stand-in: mocked here; the statements themselves are parsed as
// Redshift SQL in libs/warehouse (redshift-sql.int.spec.ts).
const rsd = mockClient(RedshiftDataClient);
const ADMIN = 'arn:aws:secretsmanager:eu-central-1:123456789012:secret:redshift-admin';

describe('trips aws bootstrap', () => {
  const saved = { ...process.env };
  beforeEach(() => {
    rsd.reset();
    Object.assign(process.env, { TRIPS_REDSHIFT_WORKGROUP: 'trips', TRIPS_REDSHIFT_DATABASE: 'analytics', AWS_REGION: 'eu-central-1' });
    jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
  });
  afterEach(() => {
    process.env = { ...saved };
    jest.restoreAllMocks();
  });
  afterAll(() => rsd.restore());

  it('runs the bootstrap as the administrator in one batch, creating only the roles that are missing', async () => {
    rsd.on(ExecuteStatementCommand).resolves({ Id: 'q-roles' });
    rsd.on(DescribeStatementCommand, { Id: 'q-roles' }).resolves({ Id: 'q-roles', Status: 'FINISHED', HasResultSet: true });
    rsd.on(GetStatementResultCommand, { Id: 'q-roles' }).resolves({ ColumnMetadata: [{ name: 'role_name' }], Records: [[{ stringValue: 'trips_reader' }]] });
    rsd.on(BatchExecuteStatementCommand).resolves({ Id: 'b-boot' });
    rsd.on(DescribeStatementCommand, { Id: 'b-boot' }).resolves({ Id: 'b-boot', Status: 'FINISHED' });

    expect(await awsCommand.run(['bootstrap', '--admin-secret-arn', ADMIN])).toBe(0);

    const [roles] = rsd.commandCalls(ExecuteStatementCommand);
    expect(roles.args[0].input).toMatchObject({ WorkgroupName: 'trips', Database: 'analytics', SecretArn: ADMIN, Sql: 'select role_name from svv_roles where role_name in (:p1, :p2)' });
    const [batch] = rsd.commandCalls(BatchExecuteStatementCommand);
    const sqls = batch.args[0].input.Sqls as string[];
    expect(batch.args[0].input).toMatchObject({ SecretArn: ADMIN, Database: 'analytics' });
    expect(sqls).toEqual(bootstrapStatements('analytics', ['trips_reader']));
    expect(sqls[0]).toBe('create role trips_loader');
    expect(sqls).not.toContain('create role trips_reader');
    expect(sqls).toEqual(expect.arrayContaining(['create schema if not exists trips', 'grant usage, create on schema trips to role trips_loader', 'grant temp on database "analytics" to role trips_loader']));
  });

  it('refuses to run without an administrator, and prints the SQL with --print without calling AWS', async () => {
    await expect(awsCommand.run(['bootstrap'])).rejects.toThrow('trips aws bootstrap: give --admin-secret-arn ARN (or, on a cluster, --admin-db-user NAME), or --print the SQL');
    expect(await awsCommand.run(['bootstrap', '--print'])).toBe(0);
    expect(rsd.calls()).toHaveLength(0);
    const printed = (process.stdout.write as unknown as jest.Mock).mock.calls.map((c) => String(c[0])).join('');
    expect(printed).toContain('create role trips_loader;\ncreate role trips_reader;\ncreate schema if not exists trips;');
    expect(printed).toContain('tag its task role RedshiftDbRoles=trips_loader');
  });
});
