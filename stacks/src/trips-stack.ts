import { createHash } from 'node:crypto';
import { TerraformOutput, TerraformStack } from 'cdktn';
import type { Construct } from 'constructs';
import { AthenaWorkgroup } from '@cdktn/provider-aws/lib/athena-workgroup';
import { CloudwatchLogGroup } from '@cdktn/provider-aws/lib/cloudwatch-log-group';
import { DataAwsCallerIdentity } from '@cdktn/provider-aws/lib/data-aws-caller-identity';
import { DefaultSecurityGroup } from '@cdktn/provider-aws/lib/default-security-group';
import { EcrLifecyclePolicy } from '@cdktn/provider-aws/lib/ecr-lifecycle-policy';
import { EcrRepository } from '@cdktn/provider-aws/lib/ecr-repository';
import { EcsCluster } from '@cdktn/provider-aws/lib/ecs-cluster';
import { EcsService } from '@cdktn/provider-aws/lib/ecs-service';
import { EcsTaskDefinition } from '@cdktn/provider-aws/lib/ecs-task-definition';
import { Eip } from '@cdktn/provider-aws/lib/eip';
import { FlowLog } from '@cdktn/provider-aws/lib/flow-log';
import { GlueCatalogDatabase } from '@cdktn/provider-aws/lib/glue-catalog-database';
import { GlueCatalogTable } from '@cdktn/provider-aws/lib/glue-catalog-table';
import { GlueDataCatalogEncryptionSettings } from '@cdktn/provider-aws/lib/glue-data-catalog-encryption-settings';
import { IamRole } from '@cdktn/provider-aws/lib/iam-role';
import { IamRolePolicy } from '@cdktn/provider-aws/lib/iam-role-policy';
import { InternetGateway } from '@cdktn/provider-aws/lib/internet-gateway';
import { KmsAlias } from '@cdktn/provider-aws/lib/kms-alias';
import { KmsKey } from '@cdktn/provider-aws/lib/kms-key';
import { MwaaEnvironment } from '@cdktn/provider-aws/lib/mwaa-environment';
import { NatGateway } from '@cdktn/provider-aws/lib/nat-gateway';
import { AwsProvider } from '@cdktn/provider-aws/lib/provider';
import { RedshiftdataStatement } from '@cdktn/provider-aws/lib/redshiftdata-statement';
import { RedshiftserverlessNamespace } from '@cdktn/provider-aws/lib/redshiftserverless-namespace';
import { RedshiftserverlessWorkgroup } from '@cdktn/provider-aws/lib/redshiftserverless-workgroup';
import { Route } from '@cdktn/provider-aws/lib/route';
import { RouteTable } from '@cdktn/provider-aws/lib/route-table';
import { RouteTableAssociation } from '@cdktn/provider-aws/lib/route-table-association';
import { S3Bucket } from '@cdktn/provider-aws/lib/s3-bucket';
import { S3BucketLifecycleConfiguration } from '@cdktn/provider-aws/lib/s3-bucket-lifecycle-configuration';
import { S3BucketNotification } from '@cdktn/provider-aws/lib/s3-bucket-notification';
import { S3BucketOwnershipControls } from '@cdktn/provider-aws/lib/s3-bucket-ownership-controls';
import { S3BucketPolicy } from '@cdktn/provider-aws/lib/s3-bucket-policy';
import { S3BucketPublicAccessBlock } from '@cdktn/provider-aws/lib/s3-bucket-public-access-block';
import { S3BucketServerSideEncryptionConfigurationA } from '@cdktn/provider-aws/lib/s3-bucket-server-side-encryption-configuration';
import { S3BucketVersioningA } from '@cdktn/provider-aws/lib/s3-bucket-versioning';
import { S3Object } from '@cdktn/provider-aws/lib/s3-object';
import { SecretsmanagerSecret } from '@cdktn/provider-aws/lib/secretsmanager-secret';
import { SecurityGroup } from '@cdktn/provider-aws/lib/security-group';
import { SnsTopic } from '@cdktn/provider-aws/lib/sns-topic';
import { SqsQueue } from '@cdktn/provider-aws/lib/sqs-queue';
import { SqsQueuePolicy } from '@cdktn/provider-aws/lib/sqs-queue-policy';
import { Subnet } from '@cdktn/provider-aws/lib/subnet';
import { TransferServer } from '@cdktn/provider-aws/lib/transfer-server';
import { TransferUser } from '@cdktn/provider-aws/lib/transfer-user';
import { TransferWorkflow } from '@cdktn/provider-aws/lib/transfer-workflow';
import { Vpc } from '@cdktn/provider-aws/lib/vpc';
import { VpcEndpoint } from '@cdktn/provider-aws/lib/vpc-endpoint';
import { VpcSecurityGroupEgressRule } from '@cdktn/provider-aws/lib/vpc-security-group-egress-rule';
import { VpcSecurityGroupIngressRule } from '@cdktn/provider-aws/lib/vpc-security-group-ingress-rule';
import { renderMwaaDag } from '@trips/dag-generator';
import { STAGING_PREFIX } from '@trips/engine';
import { CATALOG, glueTables, lockReleaseTask, partition, RAW_EVENTS, RAW_PREFIX, type PipelineDefinition, type TableDef } from '@trips/pipeline';
import { bootstrapStatements, LOADER_ROLE, warehouseSchemaTables } from '@trips/warehouse';
import type { Environment } from './environments';
import { policy, taskRoleStatements, tasksOfApp, type Arns, type Statement } from './policies';
import { taskEnvironment } from './task-environment';

/** Interface endpoints the private subnets reach AWS through (S3 has a gateway endpoint). */
export const INTERFACE_ENDPOINTS = ['ecr.api', 'ecr.dkr', 'logs', 'athena', 'glue', 'kms', 'secretsmanager', 'redshift-data', 'ecs', 'sns', 'sqs'] as const;

/** The Redshift database of the namespace. */
export const WAREHOUSE_DATABASE = 'trips';

/** Where raw files pushed to AWS Transfer Family land before its workflow copies them into a day's batch (outside RAW_EVENTS). */
export const TRANSFER_INBOX = 'inbox/';

/** A literal for Terraform: a `${…}` that is not one of our tokens (Athena's `${ds}`, Transfer's `${transfer:UploadDate}`) escaped as `$${…}`. */
export const literal = (s: string) => s.replace(/\$\{(?!TfToken\[)/g, () => '$${');

const hash = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 10);

/** Every AWS resource the pipeline needs in one environment, derived from the pipeline definition and the table catalog. */
export class TripsStack extends TerraformStack {
  constructor(scope: Construct, id: string, env: Environment, def: PipelineDefinition, catalog: readonly TableDef[] = CATALOG) {
    super(scope, id);
    const name = `trips-${env.name}`;
    new AwsProvider(this, 'aws', { region: env.region, defaultTags: [{ tags: { project: 'trips-pipeline', environment: env.name } }] });
    const account = new DataAwsCallerIdentity(this, 'account').accountId;
    const events = env.ingestion !== 'sftp-scheduled';
    const arn = (service: string, resource: string) => `arn:aws:${service}:${env.region}:${account}:${resource}`;

    // ---- Keys: one per purpose, rotated.
    const rootStatement: Statement = { Sid: 'AccountAdmin', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${account}:root` }, Action: ['kms:*'], Resource: '*' };
    const logsStatement = (groups: string): Statement => ({
      Sid: 'CloudWatchLogs',
      Effect: 'Allow',
      Principal: { Service: `logs.${env.region}.amazonaws.com` },
      Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:DescribeKey'],
      Resource: '*',
      Condition: { ArnLike: { 'kms:EncryptionContext:aws:logs:arn': arn('logs', `log-group:${groups}`) } },
    });
    const key = (purpose: string, description: string, extra: Statement[] = []) => {
      const k = new KmsKey(this, `${purpose}-key`, {
        description: `${name}: ${description}`,
        enableKeyRotation: true,
        deletionWindowInDays: env.keyDeletionWindowDays,
        policy: policy([rootStatement, ...extra]),
      });
      new KmsAlias(this, `${purpose}-key-alias`, { name: `alias/${name}-${purpose}`, targetKeyId: k.keyId });
      return k;
    };
    // The data key also encrypts MWAA's own logs (airflow-<environment>-*).
    const dataKey = key('data', 'lake, warehouse, queues, topic and orchestration data', [logsStatement(`airflow-${name}-*`)]);
    const secretsKey = key('secrets', 'credentials (partner SFTP, warehouse admin)');
    const logsKey = key('logs', 'task and network logs', [logsStatement(`/trips/${env.name}/*`)]);

    // ---- Network: private subnets for everything; a NAT gateway only for the egress to the partner's SFTP server.
    const vpc = new Vpc(this, 'vpc', { cidrBlock: env.vpcCidr, enableDnsHostnames: true, enableDnsSupport: true, tags: { Name: name } });
    new DefaultSecurityGroup(this, 'default-sg', { vpcId: vpc.id });
    const flowLogs = new CloudwatchLogGroup(this, 'flow-log-group', { name: `/trips/${env.name}/vpc-flow`, retentionInDays: env.logRetentionDays, kmsKeyId: logsKey.arn });
    const flowRole = new IamRole(this, 'flow-log-role', { name: `${name}-vpc-flow-log`, assumeRolePolicy: trust('vpc-flow-logs.amazonaws.com') });
    new IamRolePolicy(this, 'flow-log-policy', {
      role: flowRole.id,
      policy: policy([{ Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'], Resource: `${flowLogs.arn}:*` }]),
    });
    new FlowLog(this, 'flow-log', { vpcId: vpc.id, trafficType: 'ALL', logDestination: flowLogs.arn, iamRoleArn: flowRole.arn });
    const privateSubnets = env.availabilityZones.map(
      (az, i) => new Subnet(this, `private-subnet-${i}`, { vpcId: vpc.id, availabilityZone: az, cidrBlock: cidr(env.vpcCidr, i), tags: { Name: `${name}-private-${az}` } }),
    );
    const publicSubnets = env.availabilityZones.map(
      (az, i) => new Subnet(this, `public-subnet-${i}`, { vpcId: vpc.id, availabilityZone: az, cidrBlock: cidr(env.vpcCidr, 10 + i), tags: { Name: `${name}-public-${az}` } }),
    );
    const igw = new InternetGateway(this, 'igw', { vpcId: vpc.id });
    const publicRoutes = new RouteTable(this, 'public-routes', { vpcId: vpc.id });
    new Route(this, 'public-default-route', { routeTableId: publicRoutes.id, destinationCidrBlock: '0.0.0.0/0', gatewayId: igw.id });
    publicSubnets.forEach((s, i) => new RouteTableAssociation(this, `public-routes-${i}`, { subnetId: s.id, routeTableId: publicRoutes.id }));
    const privateRoutes = new RouteTable(this, 'private-routes', { vpcId: vpc.id });
    privateSubnets.forEach((s, i) => new RouteTableAssociation(this, `private-routes-${i}`, { subnetId: s.id, routeTableId: privateRoutes.id }));
    const sftpIngestion = env.ingestion !== 'transfer-family';
    if (sftpIngestion) {
      const natIp = new Eip(this, 'nat-ip', { domain: 'vpc' });
      const nat = new NatGateway(this, 'nat', { allocationId: natIp.allocationId, subnetId: publicSubnets[0].id });
      // Only the partner's address goes out through it: nothing else leaves the VPC but through endpoints.
      new Route(this, 'partner-route', { routeTableId: privateRoutes.id, destinationCidrBlock: env.partner.cidr, natGatewayId: nat.id });
    }
    const s3Endpoint = new VpcEndpoint(this, 'endpoint-s3', { vpcId: vpc.id, serviceName: `com.amazonaws.${env.region}.s3`, vpcEndpointType: 'Gateway', routeTableIds: [privateRoutes.id] });
    const endpointSg = new SecurityGroup(this, 'endpoints-sg', { name: `${name}-endpoints`, description: 'Interface endpoints: HTTPS from the VPC', vpcId: vpc.id });
    new VpcSecurityGroupIngressRule(this, 'endpoints-https-in', { securityGroupId: endpointSg.id, description: 'HTTPS from the VPC', cidrIpv4: env.vpcCidr, ipProtocol: 'tcp', fromPort: 443, toPort: 443 });
    for (const service of INTERFACE_ENDPOINTS) {
      new VpcEndpoint(this, `endpoint-${service.replace('.', '-')}`, {
        vpcId: vpc.id,
        serviceName: `com.amazonaws.${env.region}.${service}`,
        vpcEndpointType: 'Interface',
        privateDnsEnabled: true,
        subnetIds: privateSubnets.map((s) => s.id),
        securityGroupIds: [endpointSg.id],
      });
    }
    const httpsOut = (sg: SecurityGroup, id: string) => {
      new VpcSecurityGroupEgressRule(this, `${id}-https-vpc`, { securityGroupId: sg.id, description: 'HTTPS to the interface endpoints', cidrIpv4: env.vpcCidr, ipProtocol: 'tcp', fromPort: 443, toPort: 443 });
      new VpcSecurityGroupEgressRule(this, `${id}-https-s3`, { securityGroupId: sg.id, description: 'HTTPS to S3 through the gateway endpoint', prefixListId: s3Endpoint.prefixListId, ipProtocol: 'tcp', fromPort: 443, toPort: 443 });
    };
    const tasksSg = new SecurityGroup(this, 'tasks-sg', { name: `${name}-tasks`, description: 'Pipeline tasks: AWS APIs through the endpoints only', vpcId: vpc.id });
    httpsOut(tasksSg, 'tasks');
    const egressSg = new SecurityGroup(this, 'egress-sg', { name: `${name}-partner-egress`, description: 'ingest-sftp: the partner SFTP server besides the endpoints', vpcId: vpc.id });
    httpsOut(egressSg, 'egress');
    new VpcSecurityGroupEgressRule(this, 'egress-sftp', { securityGroupId: egressSg.id, description: 'SFTP to the partner', cidrIpv4: env.partner.cidr, ipProtocol: 'tcp', fromPort: env.partner.port, toPort: env.partner.port });

    // ---- Lake: raw, lake and Athena results buckets, and the orchestration bucket; all KMS-encrypted, private, TLS-only, versioned.
    const bucket = (id: string, purpose: string, o: { expireDays?: number; extraPolicy?: Statement[] } = {}) => {
      const b = new S3Bucket(this, `${id}-bucket`, { bucket: `${name}-${purpose}-${account}`, forceDestroy: env.forceDestroy });
      new S3BucketOwnershipControls(this, `${id}-ownership`, { bucket: b.id, rule: { objectOwnership: 'BucketOwnerEnforced' } });
      new S3BucketPublicAccessBlock(this, `${id}-public-access`, { bucket: b.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true });
      new S3BucketServerSideEncryptionConfigurationA(this, `${id}-encryption`, {
        bucket: b.id,
        rule: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: 'aws:kms', kmsMasterKeyId: dataKey.arn }, bucketKeyEnabled: true }],
      });
      new S3BucketVersioningA(this, `${id}-versioning`, { bucket: b.id, versioningConfiguration: { status: 'Enabled' } });
      new S3BucketLifecycleConfiguration(this, `${id}-lifecycle`, {
        bucket: b.id,
        rule: [
          { id: 'abort-incomplete-uploads', status: 'Enabled', filter: [{ prefix: '' }], abortIncompleteMultipartUpload: [{ daysAfterInitiation: 2 }] },
          // A replaced partition's old files, and old lock and manifest versions, are kept a month.
          { id: 'expire-old-versions', status: 'Enabled', filter: [{ prefix: '' }], noncurrentVersionExpiration: [{ noncurrentDays: 30 }] },
          ...(o.expireDays ? [{ id: 'expire', status: 'Enabled', filter: [{ prefix: '' }], expiration: [{ days: o.expireDays }] }] : []),
        ],
      });
      new S3BucketPolicy(this, `${id}-policy`, {
        bucket: b.id,
        policy: policy([
          // TLS only. No VPC-endpoint or source-IP condition: Redshift's COPY from Parquet reads the lake through presigned URLs from its own fleet.
          { Sid: 'TlsOnly', Effect: 'Deny', Principal: { AWS: '*' }, Action: ['s3:*'], Resource: [b.arn, `${b.arn}/*`], Condition: { Bool: { 'aws:SecureTransport': false } } },
          ...(o.extraPolicy ?? []),
        ]),
      });
      return b;
    };
    const raw = bucket('raw', 'raw');
    const lake = bucket('lake', 'lake');
    const results = bucket('athena-results', 'athena-results', { expireDays: 30 });
    const mwaaBucket = bucket('mwaa', 'mwaa');
    const buckets = { raw: raw.bucket, lake: lake.bucket };

    // ---- Glue and Athena: one table per catalog table, from the same definitions the models use.
    new GlueDataCatalogEncryptionSettings(this, 'glue-encryption', {
      dataCatalogEncryptionSettings: {
        encryptionAtRest: { catalogEncryptionMode: 'SSE-KMS', sseAwsKmsKeyId: dataKey.arn },
        connectionPasswordEncryption: { returnConnectionPasswordEncrypted: true, awsKmsKeyId: dataKey.arn },
      },
    });
    const database = new GlueCatalogDatabase(this, 'glue-database', { name: `trips_${env.name}`, description: `${name}: the lake's tables (partition projection on ds)` });
    for (const t of glueTables(buckets, catalog)) {
      new GlueCatalogTable(this, `glue-table-${t.name}`, {
        databaseName: database.name,
        name: t.name,
        tableType: 'EXTERNAL_TABLE',
        parameters: Object.fromEntries(Object.entries(t.parameters).map(([k, v]) => [k, literal(v)])),
        partitionKeys: t.partitionKeys,
        storageDescriptor: {
          location: t.location,
          inputFormat: t.inputFormat,
          outputFormat: t.outputFormat,
          serDeInfo: { serializationLibrary: t.serde.library, parameters: t.serde.parameters },
          columns: t.columns,
        },
      });
    }
    const workgroup = new AthenaWorkgroup(this, 'athena-workgroup', {
      name,
      state: 'ENABLED',
      forceDestroy: env.forceDestroy,
      configuration: {
        enforceWorkgroupConfiguration: true,
        publishCloudwatchMetricsEnabled: true,
        bytesScannedCutoffPerQuery: env.athenaBytesScannedCutoff,
        engineVersion: { selectedEngineVersion: 'Athena engine version 3' },
        resultConfiguration: { outputLocation: `s3://${results.bucket}/`, encryptionConfiguration: { encryptionOption: 'SSE_KMS', kmsKeyArn: dataKey.arn } },
      },
    });

    // ---- Warehouse: Redshift Serverless in the private subnets; the COPY role reads the lake.
    const redshiftSg = new SecurityGroup(this, 'redshift-sg', { name: `${name}-redshift`, description: 'Redshift Serverless: reached through the Data API only', vpcId: vpc.id });
    httpsOut(redshiftSg, 'redshift');
    const copyRole = new IamRole(this, 'copy-role', { name: `${name}-redshift-copy`, assumeRolePolicy: trust('redshift.amazonaws.com', account) });
    const warehouseTables = catalog.filter((t) => t.warehouse);
    new IamRolePolicy(this, 'copy-role-policy', {
      role: copyRole.id,
      policy: policy([
        { Sid: 'ReadLoadedPartitions', Effect: 'Allow', Action: ['s3:GetObject'], Resource: [...warehouseTables.map((t) => `${lake.arn}/${partition(buckets, t, '*').prefix}*`), `${lake.arn}/manifests/*/copy/*`] },
        { Sid: 'ListLake', Effect: 'Allow', Action: ['s3:ListBucket', 's3:GetBucketLocation'], Resource: lake.arn },
        { Sid: 'DataKey', Effect: 'Allow', Action: ['kms:Decrypt'], Resource: dataKey.arn },
      ]),
    });
    const namespace = new RedshiftserverlessNamespace(this, 'redshift-namespace', {
      namespaceName: name,
      dbName: WAREHOUSE_DATABASE,
      adminUsername: 'trips_admin',
      manageAdminPassword: true,
      adminPasswordSecretKmsKeyId: secretsKey.arn,
      kmsKeyId: dataKey.arn,
      iamRoles: [copyRole.arn],
      logExports: ['userlog', 'connectionlog', 'useractivitylog'],
    });
    const redshift = new RedshiftserverlessWorkgroup(this, 'redshift-workgroup', {
      workgroupName: name,
      namespaceName: namespace.namespaceName,
      baseCapacity: env.redshift.baseCapacity,
      maxCapacity: env.redshift.maxCapacity,
      publiclyAccessible: false,
      enhancedVpcRouting: true,
      subnetIds: privateSubnets.map((s) => s.id),
      securityGroupIds: [redshiftSg.id],
    });
    // The bootstrap, as the namespace's administrator: schema, tables, the loader's and readers' roles.
    // Each statement is a resource named by its text, run once, in order; the grants run again when the tables change.
    let previous: RedshiftdataStatement | undefined;
    const tablesHash = hash(warehouseSchemaTables(catalog).join(','));
    for (const sql of bootstrapStatements(WAREHOUSE_DATABASE)) {
      const id = `bootstrap-${hash(sql.startsWith('grant') ? `${sql}|${tablesHash}` : sql)}`;
      previous = new RedshiftdataStatement(this, id, {
        workgroupName: redshift.workgroupName,
        database: WAREHOUSE_DATABASE,
        secretArn: namespace.adminPasswordSecretArn,
        sql,
        dependsOn: previous ? [previous] : [redshift],
      });
    }

    // ---- Events and notices.
    const topic = new SnsTopic(this, 'notices', { name: `${name}-notices`, kmsMasterKeyId: dataKey.arn });
    const queue = events ? new SqsQueue(this, 'raw-events', { name: `${name}-raw-events`, sqsManagedSseEnabled: true, messageRetentionSeconds: 4 * 86_400, visibilityTimeoutSeconds: 300 }) : undefined;
    if (queue) {
      new SqsQueuePolicy(this, 'raw-events-policy', {
        queueUrl: queue.url,
        policy: policy([
          { Sid: 'RawBucketEvents', Effect: 'Allow', Principal: { Service: 's3.amazonaws.com' }, Action: ['sqs:SendMessage'], Resource: queue.arn, Condition: { ArnEquals: { 'aws:SourceArn': raw.arn }, StringEquals: { 'aws:SourceAccount': account } } },
        ]),
      });
      new S3BucketNotification(this, 'raw-notification', {
        bucket: raw.id,
        // One rule per suffix; S3 takes them as they do not overlap (neither suffix ends the other).
        queue: RAW_EVENTS.suffixes.map((suffix) => ({ queueArn: queue.arn, events: [...RAW_EVENTS.events], filterPrefix: RAW_EVENTS.prefix, filterSuffix: suffix })),
      });
    }

    // ---- Processing: one image repository, task definition and task role per app; one execution role.
    const cluster = new EcsCluster(this, 'cluster', { name, setting: [{ name: 'containerInsights', value: 'enabled' }] });
    const logGroup = new CloudwatchLogGroup(this, 'task-logs', { name: `/trips/${env.name}/tasks`, retentionInDays: env.logRetentionDays, kmsKeyId: logsKey.arn });
    const executionRole = new IamRole(this, 'execution-role', { name: `${name}-task-execution`, assumeRolePolicy: trust('ecs-tasks.amazonaws.com', account) });
    const partnerSecret = new SecretsmanagerSecret(this, 'partner-sftp-secret', {
      name: `${name}/partner-sftp`,
      description: "The partner's SFTP password (put its value by hand: docs/deploy.md)",
      kmsKeyId: secretsKey.arn,
      recoveryWindowInDays: env.forceDestroy ? 0 : 30,
    });
    const arns: Arns = {
      bucket: { raw: raw.arn, lake: lake.arn },
      athena: { workgroup: workgroup.arn, resultsBucket: results.arn, catalog: arn('glue', 'catalog'), database: arn('glue', `database/${database.name}`), tables: arn('glue', `table/${database.name}/*`) },
      athenaStaging: STAGING_PREFIX,
      redshift: { workgroup: redshift.arn },
      keys: { data: dataKey.arn, secrets: secretsKey.arn },
      sftpSecret: partnerSecret.arn,
    };
    const known: Record<string, string> = {
      AWS_REGION: env.region,
      TRIPS_RAW_BUCKET: raw.bucket,
      TRIPS_LAKE_BUCKET: lake.bucket,
      TRIPS_ENGINE: 'athena',
      TRIPS_WAREHOUSE: 'redshift',
      TRIPS_WORK_DIR: '/tmp/trips-work',
      LOG_LEVEL: 'info',
      TRIPS_ATHENA_WORKGROUP: workgroup.name,
      TRIPS_ATHENA_DATABASE: database.name,
      TRIPS_REDSHIFT_WORKGROUP: redshift.workgroupName,
      TRIPS_REDSHIFT_DATABASE: WAREHOUSE_DATABASE,
      TRIPS_REDSHIFT_COPY_ROLE_ARN: copyRole.arn,
      TRIPS_SFTP_HOST: env.partner.host,
      TRIPS_SFTP_PORT: String(env.partner.port),
      TRIPS_SFTP_USER: env.partner.user,
      TRIPS_SFTP_PASSWORD: `secretsmanager:${partnerSecret.arn}`,
      TRIPS_SFTP_HOST_KEY_SHA256: env.partner.hostKeySha256,
      TRIPS_SFTP_DIR: env.partner.dir,
    };
    const release = lockReleaseTask(def);
    const apps = [...new Set(def.tasks.map((t) => t.app))];
    const taskRoles: IamRole[] = [];
    const repositories: EcrRepository[] = [];
    const taskDefinitions: Record<string, EcsTaskDefinition> = {};
    for (const app of apps) {
      const tasks = tasksOfApp(def, app, [release]);
      const repo = new EcrRepository(this, `repo-${app}`, {
        name: `trips/${app}`,
        imageTagMutability: 'IMMUTABLE',
        imageScanningConfiguration: { scanOnPush: true },
        encryptionConfiguration: [{ encryptionType: 'KMS', kmsKey: dataKey.arn }],
        forceDelete: env.forceDestroy,
      });
      new EcrLifecyclePolicy(this, `repo-${app}-lifecycle`, {
        repository: repo.name,
        policy: JSON.stringify({ rules: [{ rulePriority: 1, description: 'keep the last 50 images', selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 50 }, action: { type: 'expire' } }] }),
      });
      repositories.push(repo);
      const writesWarehouse = tasks.some((t) => t.writes.some((w) => w.store === 'warehouse'));
      const role = new IamRole(this, `task-role-${app}`, {
        name: `${name}-${app}`,
        assumeRolePolicy: trust('ecs-tasks.amazonaws.com', account),
        // On Redshift Serverless the role's database user is given the loader's database role at each connection.
        tags: writesWarehouse ? { RedshiftDbRoles: LOADER_ROLE } : undefined,
      });
      new IamRolePolicy(this, `task-role-${app}-policy`, { role: role.id, policy: policy(taskRoleStatements(tasks, arns)) });
      taskRoles.push(role);
      const cpu = Math.max(...tasks.map((t) => t.cpu));
      const memory = Math.max(...tasks.map((t) => t.memoryMiB));
      const readsSftp = tasks.some((t) => t.reads.some((r) => r.store === 'sftp'));
      taskDefinitions[app] = new EcsTaskDefinition(this, `task-${app}`, {
        family: `${def.ecs.taskFamilyPrefix}${app}`,
        requiresCompatibilities: ['FARGATE'],
        networkMode: 'awsvpc',
        cpu: String(cpu),
        memory: String(memory),
        executionRoleArn: executionRole.arn,
        taskRoleArn: role.arn,
        runtimePlatform: { operatingSystemFamily: 'LINUX', cpuArchitecture: 'X86_64' },
        volume: [{ name: 'scratch' }],
        containerDefinitions: JSON.stringify([
          {
            name: app,
            image: `${repo.repositoryUrl}:${env.imageTag}`,
            essential: true,
            // The DAG overrides the command (`--ds … --run-id …`); the entry point runs the app's bundle.
            entryPoint: def.ecs.entryPoint,
            // Without an override (the ingest-sftp service): watch the partner's folder.
            ...(readsSftp ? { command: ['--ds', 'today', '--watch'] } : {}),
            user: def.ecs.user,
            readonlyRootFilesystem: true,
            mountPoints: [{ sourceVolume: 'scratch', containerPath: '/tmp', readOnly: false }],
            environment: taskEnvironment(app, known),
            logConfiguration: { logDriver: 'awslogs', options: { 'awslogs-group': logGroup.name, 'awslogs-region': env.region, 'awslogs-stream-prefix': def.ecs.logStreamPrefix } },
          },
        ]),
      });
    }
    new IamRolePolicy(this, 'execution-role-policy', {
      role: executionRole.id,
      policy: policy([
        { Sid: 'PullImages', Effect: 'Allow', Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchCheckLayerAvailability'], Resource: repositories.map((r) => r.arn) },
        // ecr:GetAuthorizationToken takes no resource.
        { Sid: 'RegistryLogin', Effect: 'Allow', Action: ['ecr:GetAuthorizationToken'], Resource: '*' },
        { Sid: 'WriteLogs', Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: `${logGroup.arn}:*` },
        { Sid: 'ImageKey', Effect: 'Allow', Action: ['kms:Decrypt'], Resource: dataKey.arn },
      ]),
    });
    const ingestApp = def.tasks.find((t) => t.id === def.ingestTask)?.app;
    if (env.ingestion === 'sftp-watcher' && ingestApp) {
      new EcsService(this, 'ingest-watcher', {
        name: `${ingestApp}-watch`,
        cluster: cluster.arn,
        taskDefinition: taskDefinitions[ingestApp].arn,
        desiredCount: 1,
        launchType: 'FARGATE',
        networkConfiguration: { subnets: privateSubnets.map((s) => s.id), securityGroups: [egressSg.id], assignPublicIp: false },
      });
    }

    // ---- AWS Transfer Family instead of ingest-sftp: the partner pushes; a managed workflow copies each upload into its day's batch.
    if (env.ingestion === 'transfer-family') {
      const transferSg = new SecurityGroup(this, 'transfer-sg', { name: `${name}-transfer`, description: 'AWS Transfer Family: SFTP from the partner', vpcId: vpc.id });
      new VpcSecurityGroupIngressRule(this, 'transfer-sftp-in', { securityGroupId: transferSg.id, description: 'SFTP from the partner', cidrIpv4: env.partner.cidr, ipProtocol: 'tcp', fromPort: 22, toPort: 22 });
      const transferIps = env.availabilityZones.map((_, i) => new Eip(this, `transfer-ip-${i}`, { domain: 'vpc' }));
      const transferLogs = new IamRole(this, 'transfer-logging-role', { name: `${name}-transfer-logging`, assumeRolePolicy: trust('transfer.amazonaws.com', account) });
      new IamRolePolicy(this, 'transfer-logging-policy', {
        role: transferLogs.id,
        policy: policy([{ Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams', 'logs:CreateLogGroup'], Resource: arn('logs', 'log-group:/aws/transfer/*') }]),
      });
      const workflowRole = new IamRole(this, 'transfer-workflow-role', { name: `${name}-transfer-workflow`, assumeRolePolicy: trust('transfer.amazonaws.com', account) });
      new IamRolePolicy(this, 'transfer-workflow-policy', {
        role: workflowRole.id,
        policy: policy([
          { Sid: 'ReadInbox', Effect: 'Allow', Action: ['s3:GetObject', 's3:GetObjectTagging', 's3:DeleteObject'], Resource: `${raw.arn}/${TRANSFER_INBOX}*` },
          { Sid: 'WriteBatches', Effect: 'Allow', Action: ['s3:PutObject', 's3:PutObjectTagging'], Resource: `${raw.arn}/${RAW_PREFIX}*` },
          { Sid: 'ListRaw', Effect: 'Allow', Action: ['s3:ListBucket'], Resource: raw.arn },
          { Sid: 'DataKey', Effect: 'Allow', Action: ['kms:Decrypt', 'kms:GenerateDataKey'], Resource: dataKey.arn },
        ]),
      });
      const workflow = new TransferWorkflow(this, 'transfer-workflow', {
        description: "Copy each upload into its day's raw batch, then remove it from the inbox",
        steps: [
          {
            type: 'COPY',
            copyStepDetails: {
              name: 'into-the-days-batch',
              sourceFileLocation: literal('${original.file}'),
              overwriteExisting: 'FALSE',
              destinationFileLocation: { s3FileLocation: { bucket: raw.bucket, key: literal(`${RAW_PREFIX}ingest_date=\${transfer:UploadDate}/`) } },
            },
          },
          { type: 'DELETE', deleteStepDetails: { name: 'out-of-the-inbox', sourceFileLocation: literal('${original.file}') } },
        ],
      });
      const server = new TransferServer(this, 'transfer-server', {
        protocols: ['SFTP'],
        identityProviderType: 'SERVICE_MANAGED',
        endpointType: 'VPC',
        endpointDetails: { vpcId: vpc.id, subnetIds: publicSubnets.map((s) => s.id), addressAllocationIds: transferIps.map((e) => e.id), securityGroupIds: [transferSg.id] },
        securityPolicyName: 'TransferSecurityPolicy-2025-03',
        loggingRole: transferLogs.arn,
        workflowDetails: { onUpload: { workflowId: workflow.id, executionRole: workflowRole.arn } },
      });
      const userRole = new IamRole(this, 'transfer-user-role', { name: `${name}-transfer-user`, assumeRolePolicy: trust('transfer.amazonaws.com', account) });
      new IamRolePolicy(this, 'transfer-user-policy', {
        role: userRole.id,
        policy: policy([
          { Sid: 'Inbox', Effect: 'Allow', Action: ['s3:PutObject', 's3:GetObject', 's3:DeleteObject'], Resource: `${raw.arn}/${TRANSFER_INBOX}*` },
          { Sid: 'ListInbox', Effect: 'Allow', Action: ['s3:ListBucket'], Resource: raw.arn, Condition: { StringLike: { 's3:prefix': [`${TRANSFER_INBOX}*`] } } },
          { Sid: 'DataKey', Effect: 'Allow', Action: ['kms:Decrypt', 'kms:GenerateDataKey'], Resource: dataKey.arn },
        ]),
      });
      new TransferUser(this, 'transfer-user', {
        serverId: server.id,
        userName: env.partner.user,
        role: userRole.arn,
        homeDirectoryType: 'LOGICAL',
        homeDirectoryMappings: [{ entry: '/', target: `/${raw.bucket}/${TRANSFER_INBOX.slice(0, -1)}` }],
      });
      new TerraformOutput(this, 'transfer-endpoint', { value: server.endpoint, description: 'The SFTP endpoint the partner pushes to (add their SSH key to the user: docs/deploy.md)' });
    }

    // ---- Orchestration: MWAA running the generated DAG, with the config the DAG reads.
    const mwaaSg = new SecurityGroup(this, 'mwaa-sg', { name: `${name}-mwaa`, description: 'MWAA: its own components to each other, AWS APIs through the endpoints', vpcId: vpc.id });
    new VpcSecurityGroupIngressRule(this, 'mwaa-self-in', { securityGroupId: mwaaSg.id, description: 'MWAA components to each other', referencedSecurityGroupId: mwaaSg.id, ipProtocol: '-1' });
    new VpcSecurityGroupEgressRule(this, 'mwaa-self-out', { securityGroupId: mwaaSg.id, description: 'MWAA components to each other', referencedSecurityGroupId: mwaaSg.id, ipProtocol: '-1' });
    httpsOut(mwaaSg, 'mwaa');
    const mwaaRole = new IamRole(this, 'mwaa-role', { name: `${name}-mwaa`, assumeRolePolicy: trust(['airflow.amazonaws.com', 'airflow-env.amazonaws.com'], account) });
    new IamRolePolicy(this, 'mwaa-role-policy', {
      role: mwaaRole.id,
      policy: policy(
        mwaaStatements({
          arn,
          env: name,
          region: env.region,
          cluster: cluster.arn,
          clusterName: cluster.name,
          families: apps.map((a) => `${def.ecs.taskFamilyPrefix}${a}`),
          passRoles: [...taskRoles.map((r) => r.arn), executionRole.arn],
          logGroup: logGroup.arn,
          topic: topic.arn,
          queue: queue?.arn,
          bucket: mwaaBucket.arn,
          dataKey: dataKey.arn,
        }),
      ),
    });
    // The DAG of this definition (for PIPELINE, the committed dags/trips_pipeline.py: a dag-generator test keeps them equal).
    new S3Object(this, 'dag-file', { bucket: mwaaBucket.id, key: `dags/${def.dagId}.py`, content: renderMwaaDag(def), contentType: 'text/x-python' });
    const config: Record<string, unknown> = {
      cluster: cluster.name,
      subnets: privateSubnets.map((s) => s.id),
      security_groups: [tasksSg.id],
      egress_security_groups: [egressSg.id],
      log_group: logGroup.name,
      region: env.region,
      sns_topic_arn: topic.arn,
      raw_bucket: raw.bucket,
      ...(queue ? { raw_events_queue_url: queue.url } : {}),
    };
    new S3Object(this, 'dag-config', { bucket: mwaaBucket.id, key: `dags/${def.dagId}_config.json`, content: JSON.stringify(config, null, 2), contentType: 'application/json' });
    const mwaa = new MwaaEnvironment(this, 'mwaa', {
      name,
      airflowVersion: env.mwaa.airflowVersion,
      environmentClass: env.mwaa.environmentClass,
      minWorkers: env.mwaa.minWorkers,
      maxWorkers: env.mwaa.maxWorkers,
      executionRoleArn: mwaaRole.arn,
      sourceBucketArn: mwaaBucket.arn,
      dagS3Path: 'dags',
      kmsKey: dataKey.arn,
      webserverAccessMode: 'PRIVATE_ONLY',
      networkConfiguration: { securityGroupIds: [mwaaSg.id], subnetIds: privateSubnets.map((s) => s.id) },
      loggingConfiguration: {
        dagProcessingLogs: { enabled: true, logLevel: 'INFO' },
        schedulerLogs: { enabled: true, logLevel: 'INFO' },
        taskLogs: { enabled: true, logLevel: 'INFO' },
        webserverLogs: { enabled: true, logLevel: 'INFO' },
        workerLogs: { enabled: true, logLevel: 'INFO' },
      },
    });

    new TerraformOutput(this, 'airflow-ui', { value: mwaa.webserverUrl, description: 'The Airflow UI (private: reach it from the VPC)' });
    new TerraformOutput(this, 'image-repositories', { value: Object.fromEntries(repositories.map((r, i) => [apps[i], r.repositoryUrl])), description: 'Where `nx run <app>:container` images are pushed' });
    new TerraformOutput(this, 'buckets', { value: { raw: raw.bucket, lake: lake.bucket }, description: 'The raw and lake buckets' });
    new TerraformOutput(this, 'partner-secret', { value: partnerSecret.arn, description: "Put the partner's SFTP password here" });
  }
}

/** The trust policy of a role the given services assume (in this account, when given). */
function trust(services: string | string[], account?: string): string {
  return policy([
    {
      Effect: 'Allow',
      Principal: { Service: services },
      Action: ['sts:AssumeRole'],
      ...(account ? { Condition: { StringEquals: { 'aws:SourceAccount': account } } } : {}),
    },
  ]);
}

/** The /20 number `n` of a /16 VPC. */
function cidr(vpc: string, n: number): string {
  const [a, b] = vpc.split('.');
  return `${a}.${b}.${n * 16}.0/20`;
}

/**
 * What MWAA's execution role may do: run exactly the pipeline's task definitions in the cluster
 * and pass exactly their roles, tag the tasks it starts, follow them (reattach) and read their
 * logs, publish notices, read the file-arrival queue; and what MWAA itself needs (its bucket, its
 * logs, its metrics, its Celery queues, its key).
 */
export function mwaaStatements(o: {
  arn: (service: string, resource: string) => string;
  env: string;
  region: string;
  cluster: string;
  clusterName: string;
  families: string[];
  passRoles: string[];
  logGroup: string;
  topic: string;
  queue?: string;
  bucket: string;
  dataKey: string;
}): Statement[] {
  const tasksOfCluster = o.arn('ecs', `task/${o.clusterName}/*`);
  return [
    { Sid: 'RunPipelineTasks', Effect: 'Allow', Action: ['ecs:RunTask'], Resource: o.families.map((f) => o.arn('ecs', `task-definition/${f}:*`)), Condition: { ArnEquals: { 'ecs:cluster': o.cluster } } },
    { Sid: 'PassTaskRoles', Effect: 'Allow', Action: ['iam:PassRole'], Resource: o.passRoles, Condition: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } } },
    { Sid: 'TagOnCreate', Effect: 'Allow', Action: ['ecs:TagResource'], Resource: tasksOfCluster, Condition: { StringEquals: { 'ecs:CreateAction': 'RunTask' } } },
    { Sid: 'FollowTasks', Effect: 'Allow', Action: ['ecs:DescribeTasks', 'ecs:StopTask'], Resource: tasksOfCluster },
    // ListTasks takes no resource, only the cluster as a condition.
    { Sid: 'ListTasks', Effect: 'Allow', Action: ['ecs:ListTasks'], Resource: '*', Condition: { ArnEquals: { 'ecs:cluster': o.cluster } } },
    { Sid: 'ReadTaskLogs', Effect: 'Allow', Action: ['logs:GetLogEvents', 'logs:FilterLogEvents'], Resource: `${o.logGroup}:*` },
    { Sid: 'Notices', Effect: 'Allow', Action: ['sns:Publish'], Resource: o.topic },
    ...(o.queue ? [{ Sid: 'FileArrivals', Effect: 'Allow' as const, Action: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:ChangeMessageVisibility'], Resource: o.queue }] : []),
    { Sid: 'DagBucket', Effect: 'Allow', Action: ['s3:GetObject*', 's3:GetBucket*', 's3:List*'], Resource: [o.bucket, `${o.bucket}/*`] },
    { Sid: 'AirflowMetrics', Effect: 'Allow', Action: ['airflow:PublishMetrics'], Resource: o.arn('airflow', `environment/${o.env}`) },
    {
      Sid: 'AirflowLogs',
      Effect: 'Allow',
      Action: ['logs:CreateLogStream', 'logs:CreateLogGroup', 'logs:PutLogEvents', 'logs:GetLogEvents', 'logs:GetLogRecord', 'logs:GetLogGroupFields', 'logs:GetQueryResults'],
      Resource: o.arn('logs', `log-group:airflow-${o.env}-*`),
    },
    // CloudWatch metrics and log-group listing take no resource.
    { Sid: 'Metrics', Effect: 'Allow', Action: ['cloudwatch:PutMetricData', 'logs:DescribeLogGroups'], Resource: '*' },
    // MWAA's Celery queues live in an AWS-owned account: their ARNs name no account of ours.
    { Sid: 'CeleryQueues', Effect: 'Allow', Action: ['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:ReceiveMessage', 'sqs:SendMessage'], Resource: `arn:aws:sqs:${o.region}:*:airflow-celery-*` },
    {
      Sid: 'DataKey',
      Effect: 'Allow',
      Action: ['kms:Decrypt', 'kms:DescribeKey', 'kms:GenerateDataKey*', 'kms:Encrypt'],
      Resource: o.dataKey,
    },
  ];
}
