import { CATALOG, warehouseTables, type TableDef } from '@trips/pipeline';
import { AGGREGATES } from './aggregates';
import { schemaDdl, valueSets } from './ddl';
import { WAREHOUSE_SCHEMA } from './port';

/** The Redshift roles the bootstrap creates: the loader's (load-redshift's identity is given it) and the analysts'. */
export const LOADER_ROLE = 'trips_loader';
export const READER_ROLE = 'trips_reader';

/** Every table of the warehouse schema: the catalog's, their value sets, the redelivery record, the aggregates. */
export function warehouseSchemaTables(catalog: readonly TableDef[] = CATALOG): string[] {
  return [...warehouseTables(catalog).map((t) => t.id), ...valueSets(catalog).map((v) => v.name), 'trip_redelivery', ...AGGREGATES.map((a) => a.name)];
}

/** What to do after the bootstrap so that load-redshift's identity holds the loader role. */
export const LOADER_IDENTITY_HINT =
  `give load-redshift's identity the role ${LOADER_ROLE}: on Redshift Serverless with IAM, tag its task role RedshiftDbRoles=${LOADER_ROLE}; ` +
  `with a database user (TRIPS_REDSHIFT_DB_USER on a cluster, or the user of TRIPS_REDSHIFT_SECRET_ARN), grant role ${LOADER_ROLE} to that user`;

/** The message a missing privilege fails with: what to run and where it is explained. */
export const PRIVILEGE_FIX = `an administrator runs \`npx trips aws bootstrap\` once per database (docs/aws.md, "Bootstrap the warehouse"), then ${LOADER_IDENTITY_HINT}`;

/**
 * What an administrator runs once per Redshift database, before the first load (idempotent: safe
 * to run again, e.g. after the catalog gains a table). The task role's database user (IAMR:<role>
 * on Serverless, created on its first connection) cannot create a schema, nor use objects it does
 * not own; so the administrator creates the schema and every table, and grants what loads need to
 * a role the loader is given, and read access to a role for analysts. `existingRoles` are left as
 * they are (Redshift has no CREATE ROLE IF NOT EXISTS).
 */
export function bootstrapStatements(database: string, existingRoles: readonly string[] = []): string[] {
  const S = WAREHOUSE_SCHEMA;
  const roles = [LOADER_ROLE, READER_ROLE].filter((r) => !existingRoles.includes(r)).map((r) => `create role ${r}`);
  return [
    ...roles,
    ...schemaDdl('redshift'),
    `grant usage, create on schema ${S} to role ${LOADER_ROLE}`,
    `grant temp on database ${quoteIdent(database)} to role ${LOADER_ROLE}`,
    `grant select, insert, update, delete on all tables in schema ${S} to role ${LOADER_ROLE}`,
    `grant usage on schema ${S} to role ${READER_ROLE}`,
    `grant select on all tables in schema ${S} to role ${READER_ROLE}`,
  ];
}

const quoteIdent = (s: string) => `"${s.replace(/"/g, '""')}"`;
