import { ConfigError, loadConfig, UsageError } from '@trips/core';
import { bootstrapStatements, LOADER_IDENTITY_HINT, LOADER_ROLE, READER_ROLE, RedshiftWarehouse, warehouseSettings } from '@trips/warehouse';
import { z } from 'zod';
import { defineCommand, type Flags } from './args';

const FLAGS: Flags = {
  print: { type: 'boolean', description: 'print the SQL for an administrator to run (Query Editor v2) instead of running it' },
  'admin-secret-arn': { type: 'string', value: 'ARN', description: 'Secrets Manager secret of an administrator (Serverless: its admin user; or a superuser)' },
  'admin-db-user': { type: 'string', value: 'NAME', description: 'on a provisioned cluster: an administrator database user, through IAM temporary credentials' },
};

const COMMAND = {
  name: 'trips aws',
  description: `Steps on a real AWS account (docs/aws.md, "First run in a new account").
  bootstrap   create the warehouse schema, its tables and the roles ${LOADER_ROLE} and ${READER_ROLE}, as an
              administrator, once per Redshift database (idempotent). Reads TRIPS_REDSHIFT_WORKGROUP (or
              TRIPS_REDSHIFT_CLUSTER), TRIPS_REDSHIFT_DATABASE and AWS_REGION like load-redshift.`,
  options: FLAGS,
  positionals: '<action>',
};

export const awsCommand = defineCommand(COMMAND, async ({ values, positionals }) => {
  const [action, ...extra] = positionals;
  if (action !== 'bootstrap' || extra.length > 0) throw new UsageError(`trips aws: the action is bootstrap, got "${positionals.join(' ')}"`);
  const cfg = loadConfig({ ...warehouseSettings, AWS_REGION: z.string().min(1).optional() });
  if (values.print) {
    process.stdout.write(`-- Run as an administrator of database ${cfg.TRIPS_REDSHIFT_DATABASE}, once (again after the catalog gains a table).\n`);
    process.stdout.write(`-- CREATE ROLE fails if the role exists: skip that statement then.\n`);
    process.stdout.write(`${bootstrapStatements(cfg.TRIPS_REDSHIFT_DATABASE).join(';\n')};\n-- Then ${LOADER_IDENTITY_HINT}.\n`);
    return 0;
  }
  const secretArn = values['admin-secret-arn'] as string | undefined;
  const dbUser = values['admin-db-user'] as string | undefined;
  if (!cfg.TRIPS_REDSHIFT_WORKGROUP && !cfg.TRIPS_REDSHIFT_CLUSTER) throw new ConfigError('trips aws bootstrap needs TRIPS_REDSHIFT_WORKGROUP (or TRIPS_REDSHIFT_CLUSTER)');
  if (!secretArn && !(cfg.TRIPS_REDSHIFT_CLUSTER && dbUser)) throw new UsageError('trips aws bootstrap: give --admin-secret-arn ARN (or, on a cluster, --admin-db-user NAME), or --print the SQL');
  const admin = new RedshiftWarehouse({
    region: cfg.AWS_REGION,
    target: { workgroupName: cfg.TRIPS_REDSHIFT_WORKGROUP, clusterIdentifier: cfg.TRIPS_REDSHIFT_CLUSTER, database: cfg.TRIPS_REDSHIFT_DATABASE, secretArn, dbUser: secretArn ? undefined : dbUser },
    // The bootstrap copies nothing.
    copyRoleArn: 'arn:aws:iam::000000000000:role/unused',
    timeoutMs: cfg.TRIPS_REDSHIFT_TIMEOUT_SECONDS * 1000,
  });
  const existing = (await admin.query<{ role_name: string }>('select role_name from svv_roles where role_name in ($1, $2)', [LOADER_ROLE, READER_ROLE])).map((r) => r.role_name);
  const statements = bootstrapStatements(cfg.TRIPS_REDSHIFT_DATABASE, existing);
  await admin.execute(statements, 'trips-bootstrap');
  process.stderr.write(`trips aws bootstrap: ran ${statements.length} statements in database ${cfg.TRIPS_REDSHIFT_DATABASE} (roles already there: ${existing.length ? existing.join(', ') : 'none'}).\nNext: ${LOADER_IDENTITY_HINT}.\n`);
  return 0;
});
