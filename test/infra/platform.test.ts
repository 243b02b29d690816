import { strict as assert } from "assert";
import { allDatasets } from "../../src/datasets";
import { analyticsOf } from "../../infra/platform";
import {
  DEFAULT_DELIVERY_SETTINGS,
  deliverySpecFor,
  projectionParameters,
  queryKeys,
  renderAgentConfig,
} from "../../src/spec";
import type { PolicyDocument, PolicyStatement } from "../../infra/iam/policy";
import { MOCK_ACCOUNT_ID, MOCK_REGION, promiseOf, unsecret, type RecordedResource } from "../support/pulumi-mocks";
import { BASE_ARGS, basePlatform, parsed, type BuiltPlatform } from "./fixture";
import { lineSpecOf } from "../../src/shipper/line-spec";

const DATASETS = allDatasets();

const BUCKET = `tributary-test-lake-${MOCK_ACCOUNT_ID}-${MOCK_REGION}`;
const BUCKET_ARN = `arn:aws:s3:::${BUCKET}`;
const LOG_BUCKET = `tributary-test-access-logs-${MOCK_ACCOUNT_ID}-${MOCK_REGION}`;
const LAKE_KEY_ARN = `arn:aws:kms:${MOCK_REGION}:${MOCK_ACCOUNT_ID}:key/tributary-storage-key-id`;
const WITH_TRANSFORM = DATASETS.filter((d) => d.transform !== undefined);
/** The datasets the Kinesis Agent (and so the standalone shipper's install) serves. */
const SERVED = DATASETS.filter((d) => !d.source.agentUnsupported);

const T = {
  stream: "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream",
  bucket: "aws:s3/bucket:Bucket",
  role: "aws:iam/role:Role",
  rolePolicy: "aws:iam/rolePolicy:RolePolicy",
  logGroup: "aws:cloudwatch/logGroup:LogGroup",
  fn: "aws:lambda/function:Function",
  alarm: "aws:cloudwatch/metricAlarm:MetricAlarm",
} as const;

interface Processor {
  type: string;
  parameters?: Array<{ parameterName: string; parameterValue: string }>;
}
interface ExtendedS3 {
  roleArn: string;
  bucketArn: string;
  kmsKeyArn: string;
  prefix: string;
  errorOutputPrefix: string;
  bufferingSize: number;
  bufferingInterval: number;
  compressionFormat: string;
  cloudwatchLoggingOptions: { enabled: boolean; logGroupName: string; logStreamName: string };
  dynamicPartitioningConfiguration: { enabled: boolean; retryDuration: number };
  processingConfiguration: { enabled: boolean; processors: Processor[] };
  dataFormatConversionConfiguration: {
    enabled: boolean;
    inputFormatConfiguration: { deserializer: { openXJsonSerDe: Record<string, unknown> } };
    outputFormatConfiguration: { serializer: { parquetSerDe: Record<string, unknown> } };
    schemaConfiguration: { databaseName: string; tableName: string; roleArn: string; region: string };
  };
}

const input = <T>(r: RecordedResource, key: string): T => r.inputs[key] as T;
const asList = (v: string | readonly string[] | undefined): readonly string[] =>
  v === undefined ? [] : typeof v === "string" ? [v] : v;
const param = (p: Processor, name: string) => p.parameters?.find((x) => x.parameterName === name)?.parameterValue;

/** Every policy document the platform passes to AWS, with where it came from. */
function allPolicies(built: BuiltPlatform): Array<{ where: string; kind: string; doc: PolicyDocument }> {
  const docs: Array<{ where: string; kind: string; doc: PolicyDocument }> = [];
  const fields: Record<string, string> = {
    "aws:iam/rolePolicy:RolePolicy": "policy",
    "aws:iam/role:Role": "assumeRolePolicy",
    "aws:kms/key:Key": "policy",
    "aws:s3/bucketPolicy:BucketPolicy": "policy",
    "aws:sns/topicPolicy:TopicPolicy": "policy",
  };
  for (const r of built.resources) {
    const field = fields[r.type];
    if (field) docs.push({ where: r.name, kind: r.type, doc: parsed<PolicyDocument>(r, field) });
  }
  return docs;
}

describe("infra: Platform with secure defaults (every dataset of the catalog)", function () {
  let built: BuiltPlatform;
  before(async function () {
    built = await basePlatform();
  });

  const streamOf = (dataset: string) => built.named(`tributary-${dataset}-stream`);
  const s3Of = (dataset: string) => input<ExtendedS3>(streamOf(dataset), "extendedS3Configuration");

  it("creates the expected resources, by type", function () {
    const counts: Record<string, number> = {};
    for (const r of built.resources) counts[r.type] = (counts[r.type] ?? 0) + 1;
    // Per dataset: a stream and its role, log group and stream, Glue table, error-prefix metric filter and
    // 6 alarms; per transform: a component, function, role, policy, log group and 2 alarms.
    const n = DATASETS.length;
    const t = DATASETS.filter((d) => d.transform !== undefined).length;
    const analytics = analyticsOf(DATASETS);
    assert.deepEqual(counts, {
      "tributary:index:Platform": 1,
      "tributary:storage:LakeStorage": 1,
      "tributary:catalog:Catalog": 1,
      "tributary:transform:TransformFunction": t,
      "tributary:delivery:DeliveryStream": n,
      "tributary:access:AnalystAccess": 1,
      "tributary:agent:AgentTarget": 1,
      "tributary:agent:ShipperInstall": 1,
      // The standalone shipper, and a line spec and systemd unit per dataset the agent serves.
      "aws:s3/bucketObjectv2:BucketObjectv2": 1 + 2 * SERVED.length,
      "tributary:alarms:Alarms": 1,
      "tributary:dashboard:Dashboard": 1,
      "aws:cloudwatch/dashboard:Dashboard": 1,
      "tributary:network:Network": 1,
      "tributary:warehouse:Warehouse": 1,
      "tributary:loader:Loader": 1,
      // Backfill: the replay Lambda with its role, policy, log group, DLQ, invoke config, S3 permission
      // and alarm; the bucket's one notification configuration, owned by LakeNotifications.
      "tributary:replay:Replay": 1,
      "tributary:storage:LakeNotifications": 1,
      "aws:kms/key:Key": 3,
      "aws:kms/alias:Alias": 3,
      "aws:s3/bucket:Bucket": 2,
      "aws:s3/bucketOwnershipControls:BucketOwnershipControls": 2,
      "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": 2,
      "aws:s3/bucketVersioning:BucketVersioning": 2,
      "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": 2,
      "aws:s3/bucketPolicy:BucketPolicy": 2,
      "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": 2,
      "aws:s3/bucketLogging:BucketLogging": 1,
      // A request-metrics filter per dataset error prefix: the error-output alarms count objects there.
      "aws:s3/bucketMetric:BucketMetric": n,
      "aws:s3/bucketNotification:BucketNotification": 1,
      "aws:glue/catalogDatabase:CatalogDatabase": 1,
      // Per exported model table a Glue table under analytics/, per model question a named query.
      "aws:glue/catalogTable:CatalogTable": n + analytics.tables.length,
      "aws:athena/workgroup:Workgroup": 1,
      "aws:athena/namedQuery:NamedQuery": analytics.questions.length,
      "aws:cloudwatch/logGroup:LogGroup": n + t + 2,
      "aws:cloudwatch/logStream:LogStream": n,
      "aws:iam/role:Role": n + t + 5,
      "aws:iam/rolePolicy:RolePolicy": n + t + 4,
      "aws:iam/policy:Policy": 1,
      "aws:iam/rolePolicyAttachment:RolePolicyAttachment": 1,
      "aws:iam/instanceProfile:InstanceProfile": 1,
      "aws:lambda/function:Function": t + 2,
      "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig": 2,
      "aws:lambda/permission:Permission": 2,
      "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream": n,
      "aws:ssm/parameter:Parameter": 1,
      "aws:sns/topic:Topic": 1,
      "aws:sns/topicPolicy:TopicPolicy": 1,
      // Per stream: freshness, throttling, conversion, partitions, S3 delivery success, error output (n × 6);
      // per transform function: errors and rejected records (t × 2); the loader: 4; the replay: 1.
      "aws:cloudwatch/metricAlarm:MetricAlarm": n * 6 + t * 2 + 4 + 1,
      "aws:cloudwatch/eventRule:EventRule": 1,
      "aws:cloudwatch/eventTarget:EventTarget": 1,
      "aws:sqs/queue:Queue": 3,
      "aws:sqs/queuePolicy:QueuePolicy": 1,
      "awsx:ec2:Vpc": 1,
      "aws:ec2/vpcEndpoint:VpcEndpoint": 1,
      "aws:ec2/securityGroup:SecurityGroup": 1,
      "aws:redshiftserverless/namespace:Namespace": 1,
      "aws:redshiftserverless/workgroup:Workgroup": 1,
    });
  });

  it("exports the stack outputs the contract names", async function () {
    const p = built.platform;
    assert.equal(await promiseOf(p.bucketName), BUCKET);
    assert.equal(await promiseOf(p.bucketArn), BUCKET_ARN);
    assert.equal(await promiseOf(p.lakeKeyArn), LAKE_KEY_ARN);
    assert.deepEqual(
      await promiseOf(p.streams),
      Object.fromEntries(DATASETS.map((d) => [d.name, `tributary-test-${d.name}`])),
    );
    assert.equal(await promiseOf(p.glueDatabase), "tributary_test");
    assert.equal(await promiseOf(p.athenaWorkgroup), "tributary-test");
    assert.equal(await promiseOf(p.agentConfigParameter), "/tributary/tributary-test/agent.json");
    assert.equal(await promiseOf(p.agentInstanceProfile), "tributary-test-agent");
    assert.equal(
      await promiseOf(p.alarmTopicArn),
      `arn:aws:sns:${MOCK_REGION}:${MOCK_ACCOUNT_ID}:tributary-test-alarms`,
    );
  });

  describe("lake storage", function () {
    it("the lake key rotates and waits the configured window before deletion", function () {
      const key = built.named("tributary-storage-key");
      assert.equal(key.inputs.enableKeyRotation, true);
      assert.equal(key.inputs.deletionWindowInDays, 30);
      assert.equal(built.named("tributary-storage-key-alias").inputs.name, "alias/tributary-test-lake");
    });

    it("lets CloudWatch Logs use the lake key only for this stack's log groups", function () {
      const policy = parsed<PolicyDocument>(built.named("tributary-storage-key"), "policy");
      const logs = policy.Statement.find((s) => s.Sid === "CloudWatchLogsEncryptsThisStacksLogGroups");
      assert.deepEqual(logs?.Principal, { Service: `logs.${MOCK_REGION}.amazonaws.com` });
      assert.deepEqual(logs?.Condition, {
        ArnLike: {
          "kms:EncryptionContext:aws:logs:arn": [
            `arn:aws:logs:${MOCK_REGION}:${MOCK_ACCOUNT_ID}:log-group:/aws/kinesisfirehose/tributary-test-*`,
            `arn:aws:logs:${MOCK_REGION}:${MOCK_ACCOUNT_ID}:log-group:/aws/lambda/tributary-test-*`,
          ],
        },
      });
    });

    it("names both buckets after prefix, account and region, and keeps forceDestroy off", function () {
      const buckets = built.ofType(T.bucket);
      assert.deepEqual(buckets.map((b) => b.inputs.bucket).sort(), [LOG_BUCKET, BUCKET].sort());
      for (const b of buckets) assert.equal(b.inputs.forceDestroy, false, b.name);
    });

    it("encrypts the lake with the lake key and a bucket key, and access logs with SSE-S3", function () {
      const lake = built.named("tributary-storage-lake-encryption");
      assert.equal(lake.inputs.bucket, BUCKET);
      assert.deepEqual(lake.inputs.rules, [
        {
          applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: LAKE_KEY_ARN },
          bucketKeyEnabled: true,
        },
      ]);
      assert.deepEqual(built.named("tributary-storage-access-logs-encryption").inputs.rules, [
        { applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" }, bucketKeyEnabled: false },
      ]);
    });

    it("every bucket is encrypted, versioned, owner-enforced, fully public-access-blocked and TLS-only", function () {
      for (const bucket of built.ofType(T.bucket)) {
        const of = (type: string) => built.resources.filter((r) => r.type === type && r.inputs.bucket === bucket.id);
        assert.equal(
          of("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration").length,
          1,
        );
        assert.deepEqual(of("aws:s3/bucketVersioning:BucketVersioning")[0].inputs.versioningConfiguration, {
          status: "Enabled",
        });
        assert.deepEqual(of("aws:s3/bucketOwnershipControls:BucketOwnershipControls")[0].inputs.rule, {
          objectOwnership: "BucketOwnerEnforced",
        });
        const block = of("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")[0].inputs;
        assert.deepEqual(
          [block.blockPublicAcls, block.blockPublicPolicy, block.ignorePublicAcls, block.restrictPublicBuckets],
          [true, true, true, true],
        );
        const policy = parsed<PolicyDocument>(of("aws:s3/bucketPolicy:BucketPolicy")[0], "policy");
        const arn = `arn:aws:s3:::${String(bucket.inputs.bucket)}`;
        assert.deepEqual(policy.Statement[0], {
          Sid: "DenyRequestsWithoutTls",
          Effect: "Deny",
          Principal: "*",
          Action: "s3:*",
          Resource: [arn, `${arn}/*`],
          Condition: { Bool: { "aws:SecureTransport": "false" } },
        });
      }
    });

    it("expires error records, Athena results and old versions, aborts stuck uploads, and has no raw/ transition by default", function () {
      const rules = built.named("tributary-storage-lake-lifecycle").inputs.rules;
      assert.deepEqual(rules, [
        { id: "expire-error-records", status: "Enabled", filter: { prefix: "errors/" }, expiration: { days: 30 } },
        {
          id: "expire-athena-results",
          status: "Enabled",
          filter: { prefix: "athena-results/" },
          expiration: { days: 14 },
        },
        { id: "expire-load-manifests", status: "Enabled", filter: { prefix: "manifests/" }, expiration: { days: 7 } },
        // The source-record backup of each stream (default expiry: 30 days).
        ...BASE_ARGS.datasets.map((d) => ({
          id: `expire-source-backup-${d.name}`,
          status: "Enabled",
          filter: { prefix: `raw/${d.name}/firehose` },
          expiration: { days: 30 },
        })),
        {
          id: "expire-noncurrent-versions",
          status: "Enabled",
          filter: {},
          noncurrentVersionExpiration: { noncurrentDays: 14 },
          expiration: { expiredObjectDeleteMarker: true },
        },
        {
          id: "abort-incomplete-multipart-uploads",
          status: "Enabled",
          filter: {},
          abortIncompleteMultipartUpload: { daysAfterInitiation: 7 },
        },
      ]);
      const logRules = built.named("tributary-storage-access-logs-lifecycle").inputs.rules as Array<{ id: string }>;
      assert.deepEqual(logRules[0], {
        id: "expire-access-logs",
        status: "Enabled",
        filter: {},
        expiration: { days: 90 },
      });
    });

    it("logs lake bucket access into the log bucket, which only the S3 logging service of this bucket may write", function () {
      const logging = built.named("tributary-storage-lake-logging").inputs;
      assert.equal(logging.bucket, BUCKET);
      assert.equal(logging.targetBucket, LOG_BUCKET);
      assert.equal(logging.targetPrefix, "lake/");
      const policy = parsed<PolicyDocument>(built.named("tributary-storage-access-logs-policy"), "policy");
      assert.deepEqual(policy.Statement[1], {
        Sid: "S3ServerAccessLogDelivery",
        Effect: "Allow",
        Principal: { Service: "logging.s3.amazonaws.com" },
        Action: "s3:PutObject",
        Resource: `arn:aws:s3:::${LOG_BUCKET}/lake/*`,
        Condition: { ArnLike: { "aws:SourceArn": BUCKET_ARN }, StringEquals: { "aws:SourceAccount": MOCK_ACCOUNT_ID } },
      });
    });
  });

  describe("catalog", function () {
    it("has one Parquet EXTERNAL_TABLE per dataset, with projection parameters from the spec", function () {
      for (const dataset of DATASETS) {
        const table = built.named(`tributary-catalog-${dataset.name}`).inputs;
        const spec = built.platform.specs.find((s) => s.dataset.name === dataset.name)!.spec;
        assert.equal(table.name, dataset.name);
        assert.equal(table.databaseName, "tributary_test");
        assert.equal(table.tableType, "EXTERNAL_TABLE");
        assert.deepEqual(table.parameters, projectionParameters(dataset, BUCKET));
        assert.deepEqual(table.partitionKeys, spec.glue.partitionKeys);
        assert.deepEqual(table.storageDescriptor, {
          location: `s3://${BUCKET}/curated/${dataset.name}/`,
          inputFormat: "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
          outputFormat: "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
          serDeInfo: {
            name: "parquet",
            serializationLibrary: "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
            parameters: { "serialization.format": "1" },
          },
          columns: dataset.columns.map((c) => ({ name: c.name, type: c.type, comment: c.comment })),
        });
      }
    });

    it("enforces an Athena workgroup whose results are KMS-encrypted under the lake bucket", function () {
      const wg = built.named("tributary-catalog-workgroup").inputs;
      assert.equal(wg.name, "tributary-test");
      assert.equal(wg.forceDestroy, false);
      assert.deepEqual(wg.configuration, {
        enforceWorkgroupConfiguration: true,
        publishCloudwatchMetricsEnabled: true,
        resultConfiguration: {
          outputLocation: `s3://${BUCKET}/athena-results/`,
          encryptionConfiguration: { encryptionOption: "SSE_KMS", kmsKeyArn: LAKE_KEY_ARN },
        },
      });
    });
  });

  describe("delivery streams", function () {
    it("every stream partitions dynamically, de-aggregates first and extracts keys with JQ-1.6 equal to the prefix keys", function () {
      for (const dataset of DATASETS) {
        const s3 = s3Of(dataset.name);
        assert.deepEqual(s3.dynamicPartitioningConfiguration, { enabled: true, retryDuration: 300 }, dataset.name);
        const processors = s3.processingConfiguration.processors;
        assert.equal(s3.processingConfiguration.enabled, true);
        assert.deepEqual(processors[0], {
          type: "RecordDeAggregation",
          parameters: [{ parameterName: "SubRecordType", parameterValue: "JSON" }],
        });
        const extraction = processors[processors.length - 1];
        assert.equal(extraction.type, "MetadataExtraction");
        assert.equal(param(extraction, "JsonParsingEngine"), "JQ-1.6");
        const prefixKeys = [...s3.prefix.matchAll(/!\{partitionKeyFromQuery:([^}]+)\}/g)].map((m) => m[1]);
        assert.deepEqual(queryKeys(param(extraction, "MetadataExtractionQuery")!), prefixKeys, dataset.name);
        assert.deepEqual(
          prefixKeys,
          dataset.partitionKeys.map((k) => k.name),
        );
        assert.ok(s3.prefix.startsWith(`curated/${dataset.name}/`));
      }
    });

    it("streams of datasets with a transform call their own function's $LATEST; the others have no Lambda processor", function () {
      for (const dataset of DATASETS) {
        const lambda = s3Of(dataset.name).processingConfiguration.processors.filter((p) => p.type === "Lambda");
        if (dataset.transform === undefined) {
          assert.deepEqual(lambda, [], dataset.name);
          continue;
        }
        assert.deepEqual(lambda, [
          {
            type: "Lambda",
            parameters: [
              {
                parameterName: "LambdaArn",
                parameterValue: `arn:aws:lambda:${MOCK_REGION}:${MOCK_ACCOUNT_ID}:function:tributary-test-${dataset.name}-transform:$LATEST`,
              },
            ],
          },
        ]);
      }
    });

    it("every stream converts to Parquet against its own Glue table", function () {
      for (const dataset of DATASETS) {
        const conversion = s3Of(dataset.name).dataFormatConversionConfiguration;
        assert.equal(conversion.enabled, true);
        assert.deepEqual(conversion.outputFormatConfiguration.serializer.parquetSerDe, {
          compression: "SNAPPY",
          blockSizeBytes: 256 * 1024 * 1024,
          pageSizeBytes: 1024 * 1024,
          enableDictionaryCompression: true,
          writerVersion: "V1",
        });
        const openX = conversion.inputFormatConfiguration.deserializer.openXJsonSerDe;
        assert.equal(openX.caseInsensitive, true);
        const mappings = dataset.columns.filter((c) => c.jsonKey !== undefined && c.jsonKey.toLowerCase() !== c.name);
        assert.deepEqual(
          openX.columnToJsonKeyMappings,
          // Lower-case: Firehose lower-cases JSON keys before OpenX applies the mappings.
          mappings.length ? Object.fromEntries(mappings.map((c) => [c.name, c.jsonKey!.toLowerCase()])) : undefined,
          dataset.name,
        );
        assert.deepEqual(conversion.schemaConfiguration, {
          databaseName: "tributary_test",
          tableName: dataset.name,
          roleArn: `arn:aws:iam::${MOCK_ACCOUNT_ID}:role/tributary-test-${dataset.name}-firehose`,
          region: MOCK_REGION,
        });
      }
    });

    it("every stream buffers at least 64 MiB / 60 s, stays UNCOMPRESSED and routes errors by error-output-type", function () {
      for (const dataset of DATASETS) {
        const s3 = s3Of(dataset.name);
        assert.ok(s3.bufferingSize >= 64 && s3.bufferingInterval >= 60, dataset.name);
        assert.equal(s3.compressionFormat, "UNCOMPRESSED");
        assert.equal(
          s3.errorOutputPrefix,
          `errors/${dataset.name}/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd}/`,
        );
      }
    });

    it("every stream is encrypted with the lake key and logs delivery errors to its own log stream", function () {
      for (const dataset of DATASETS) {
        const stream = streamOf(dataset.name);
        assert.equal(stream.inputs.name, `tributary-test-${dataset.name}`);
        assert.equal(stream.inputs.destination, "extended_s3");
        assert.deepEqual(stream.inputs.serverSideEncryption, {
          enabled: true,
          keyType: "CUSTOMER_MANAGED_CMK",
          keyArn: LAKE_KEY_ARN,
        });
        const s3 = s3Of(dataset.name);
        assert.equal(s3.kmsKeyArn, LAKE_KEY_ARN);
        assert.equal(s3.bucketArn, BUCKET_ARN);
        assert.deepEqual(s3.cloudwatchLoggingOptions, {
          enabled: true,
          logGroupName: `/aws/kinesisfirehose/tributary-test-${dataset.name}`,
          logStreamName: "DestinationDelivery",
        });
      }
    });

    it("Firehose roles trust firehose.amazonaws.com only with this account as external id", function () {
      for (const dataset of DATASETS) {
        const trust = parsed<PolicyDocument>(built.named(`tributary-${dataset.name}-role`), "assumeRolePolicy");
        assert.deepEqual(trust.Statement, [
          {
            Effect: "Allow",
            Principal: { Service: "firehose.amazonaws.com" },
            Action: "sts:AssumeRole",
            Condition: { StringEquals: { "sts:ExternalId": MOCK_ACCOUNT_ID } },
          },
        ]);
      }
    });

    it("a Firehose role reaches only its own prefixes, table, log stream and function", function () {
      const policy = parsed<PolicyDocument>(built.named("tributary-weblogs-role-policy"), "policy");
      const bySid = Object.fromEntries(policy.Statement.map((s) => [s.Sid, s]));
      assert.deepEqual(bySid.WriteOwnPrefixes.Resource, [
        `${BUCKET_ARN}/curated/weblogs/*`,
        `${BUCKET_ARN}/errors/weblogs/*`,
        `${BUCKET_ARN}/raw/weblogs/firehose/*`,
        `${BUCKET_ARN}/raw/weblogs/firehose-errors/*`,
      ]);
      assert.deepEqual(bySid.LocateAndListTheLakeBucket.Resource, BUCKET_ARN);
      assert.deepEqual(bySid.EncryptObjectsThroughS3.Resource, LAKE_KEY_ARN);
      assert.deepEqual(bySid.EncryptObjectsThroughS3.Condition?.StringEquals, {
        "kms:ViaService": `s3.${MOCK_REGION}.amazonaws.com`,
      });
      const glue = `arn:aws:glue:${MOCK_REGION}:${MOCK_ACCOUNT_ID}`;
      assert.deepEqual(bySid.ReadTheParquetSchema.Resource, [
        `${glue}:catalog`,
        `${glue}:database/tributary_test`,
        `${glue}:table/tributary_test/weblogs`,
      ]);
      assert.equal(
        bySid.LogDeliveryErrors.Resource,
        `arn:aws:logs:${MOCK_REGION}:${MOCK_ACCOUNT_ID}:log-group:/aws/kinesisfirehose/tributary-test-weblogs:log-stream:DestinationDelivery`,
      );
      const fn = `arn:aws:lambda:${MOCK_REGION}:${MOCK_ACCOUNT_ID}:function:tributary-test-weblogs-transform`;
      assert.deepEqual(bySid.InvokeTheTransformFunction.Resource, [fn, `${fn}:*`]);

      const sparkify = parsed<PolicyDocument>(built.named("tributary-sparkify_events-role-policy"), "policy");
      assert.equal(
        sparkify.Statement.some((s) => asList(s.Action).some((a) => a.startsWith("lambda:"))),
        false,
      );
    });
  });

  describe("transform functions", function () {
    it("one per dataset with a transform: nodejs22.x, 60 s, 256 MB, its own role and log group", function () {
      // The loader and the replay are the other functions (test/infra/warehouse and replay-lambda check them).
      const functions = built
        .ofType(T.fn)
        .filter((f) => f.inputs.name !== "tributary-test-loader" && f.inputs.name !== "tributary-test-replay");
      assert.deepEqual(
        functions.map((f) => f.inputs.name).sort(),
        WITH_TRANSFORM.map((d) => `tributary-test-${d.name}-transform`).sort(),
      );
      for (const f of functions) {
        const name = String(f.inputs.name);
        assert.equal(f.inputs.runtime, "nodejs22.x");
        assert.equal(f.inputs.timeout, 60);
        assert.equal(f.inputs.memorySize, 256);
        assert.equal(f.inputs.handler, "__index.handler");
        assert.equal(f.inputs.role, `arn:aws:iam::${MOCK_ACCOUNT_ID}:role/${name}`);
        assert.deepEqual(f.inputs.loggingConfig, { logFormat: "Text", logGroup: `/aws/lambda/${name}` });
      }
    });

    it("transform roles may only write their own logs, and no AWS managed policy is attached anywhere", function () {
      for (const dataset of WITH_TRANSFORM) {
        const policy = parsed<PolicyDocument>(built.named(`tributary-${dataset.name}-transform-role-policy`), "policy");
        assert.deepEqual(policy.Statement, [
          {
            Sid: "WriteOwnLogs",
            Effect: "Allow",
            Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
            Resource: `arn:aws:logs:${MOCK_REGION}:${MOCK_ACCOUNT_ID}:log-group:/aws/lambda/tributary-test-${dataset.name}-transform:*`,
          },
        ]);
      }
      // The one attachment is the stack's own analyst policy, on the analyst role (infra/analyst-access.ts).
      assert.deepEqual(
        built.resources.filter((r) => r.type.includes("PolicyAttachment")).map((r) => r.name),
        ["tributary-analysts-role-policy"],
      );
      for (const role of built.ofType(T.role)) assert.equal(role.inputs.managedPolicyArns, undefined, role.name);
    });
  });

  describe("IAM, across every policy", function () {
    it("no Allow statement has the action * or service:*", function () {
      for (const { where, doc } of allPolicies(built)) {
        for (const s of doc.Statement.filter((x) => x.Effect === "Allow")) {
          for (const action of asList(s.Action)) {
            assert.ok(action !== "*" && !/^[a-z0-9-]+:\*$/.test(action), `${where}: ${action}`);
          }
        }
      }
    });

    it("Resource * appears only where no resource scope exists (narrowed by a condition) and in key policies, where it means the key", function () {
      const star: Array<{ where: string; statement: PolicyStatement }> = [];
      for (const { where, kind, doc } of allPolicies(built)) {
        if (kind === "aws:kms/key:Key") continue;
        for (const s of doc.Statement) if (asList(s.Resource).includes("*")) star.push({ where, statement: s });
      }
      assert.deepEqual(star, [
        {
          // The Data API's statement actions have no resource type; the condition limits them to the
          // loader's own statements.
          where: "tributary-loader-role-policy",
          statement: {
            Sid: "FollowOwnStatements",
            Effect: "Allow",
            Action: [
              "redshift-data:DescribeStatement",
              "redshift-data:GetStatementResult",
              "redshift-data:CancelStatement",
            ],
            Resource: "*",
            Condition: { StringEquals: { "redshift-data:statement-owner-iam-userid": "${aws:userid}" } },
          },
        },
        {
          where: "tributary-agent-role-policy",
          statement: {
            Sid: "PublishAgentMetrics",
            Effect: "Allow",
            Action: "cloudwatch:PutMetricData",
            Resource: "*",
            Condition: { StringEquals: { "cloudwatch:namespace": "AWSKinesisAgent" } },
          },
        },
      ]);
    });

    it("every log group has a retention and is encrypted with the lake key", function () {
      for (const group of built.ofType(T.logGroup)) {
        assert.equal(group.inputs.retentionInDays, 30, group.name);
        assert.equal(group.inputs.kmsKeyId, LAKE_KEY_ARN, group.name);
      }
    });
  });

  describe("agent target", function () {
    it("the agent role is trusted by EC2 only, may only PutRecordBatch to the nine streams and read its agent.json", function () {
      const trust = parsed<PolicyDocument>(built.named("tributary-agent-role"), "assumeRolePolicy");
      assert.deepEqual(trust.Statement, [
        { Sid: "Ec2Hosts", Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" },
      ]);
      const policy = parsed<PolicyDocument>(built.named("tributary-agent-role-policy"), "policy");
      assert.deepEqual(policy.Statement[0], {
        Sid: "SendToOwnStreams",
        Effect: "Allow",
        Action: "firehose:PutRecordBatch",
        Resource: DATASETS.map(
          (d) => `arn:aws:firehose:${MOCK_REGION}:${MOCK_ACCOUNT_ID}:deliverystream/tributary-test-${d.name}`,
        ),
      });
      assert.deepEqual(policy.Statement[1], {
        Sid: "ReadOwnAgentConfig",
        Effect: "Allow",
        Action: "ssm:GetParameter",
        Resource: `arn:aws:ssm:${MOCK_REGION}:${MOCK_ACCOUNT_ID}:parameter/tributary/tributary-test/agent.json`,
      });
      assert.equal(built.named("tributary-agent-instance-profile").inputs.role, "tributary-test-agent");
    });

    it("publishes the standalone shipper, a line spec and a unit per served dataset, SSE-S3; the role reads exactly those", async function () {
      const objects = built.resources.filter((r) => r.type === "aws:s3/bucketObjectv2:BucketObjectv2");
      const keys = objects.map((o) => String(o.inputs.key)).sort();
      assert.deepEqual(
        keys,
        [
          "install/shipper/tributary-ship.js",
          ...SERVED.flatMap((d) => [
            `install/shipper/specs/${d.name}.json`,
            `install/shipper/units/tributary-ship-${d.name}.service`,
          ]),
        ].sort(),
      );
      for (const o of objects) {
        assert.equal(o.inputs.bucket, BUCKET, String(o.inputs.key));
        assert.equal(o.inputs.serverSideEncryption, "AES256", String(o.inputs.key));
      }
      for (const dataset of SERVED) {
        const spec = JSON.parse(String(built.named(`tributary-shipper-${dataset.name}-spec`).inputs.content));
        assert.deepEqual(spec, JSON.parse(JSON.stringify(lineSpecOf(dataset))));
        const unit = String(built.named(`tributary-shipper-${dataset.name}-unit`).inputs.content);
        assert.match(
          unit,
          new RegExp(`--spec /etc/tributary/${dataset.name}\\.json --stream tributary-test-${dataset.name} `),
        );
      }
      const policy = parsed<PolicyDocument>(built.named("tributary-agent-role-policy"), "policy");
      const read = policy.Statement.find((s) => s.Sid === "ReadShipperInstall");
      assert.deepEqual(
        [...asList(read?.Resource)].sort(),
        keys.map((k) => `${BUCKET_ARN}/${k}`),
      );
      assert.deepEqual(read?.Action, "s3:GetObject");
      assert.ok(
        policy.Statement.every((s) => !asList(s.Action).some((a) => a.startsWith("kms:"))),
        "the servers need no use of the lake key",
      );
      assert.equal(await promiseOf(built.platform.shipperInstallLocation), `s3://${BUCKET}/install/shipper/`);
    });

    it("publishes agent.json with every dataset's flows in SSM, compact, on the tier its size needs", async function () {
      const text = await promiseOf(built.platform.agentConfig);
      const expected = renderAgentConfig({
        region: MOCK_REGION,
        flows: built.platform.specs.flatMap((s) => s.spec.agentFlows),
      });
      assert.deepEqual(JSON.parse(text), JSON.parse(JSON.stringify(expected)));
      assert.equal(JSON.parse(text).assumeRoleARN, undefined);
      assert.deepEqual(
        new Set(expected.flows.map((f) => f.deliveryStream)),
        new Set(DATASETS.filter((d) => !d.source.agentUnsupported).map((d) => `tributary-test-${d.name}`)),
      );
      const parameter = built.named("tributary-agent-config").inputs;
      assert.equal(parameter.name, "/tributary/tributary-test/agent.json");
      assert.equal(parameter.type, "String");
      assert.equal(unsecret(parameter.value), text);
      assert.ok(Buffer.byteLength(text) <= 8192, String(Buffer.byteLength(text)));
      assert.doesNotMatch(text, /\n {2}/, "no indentation: an SSM parameter holds at most 8 KiB");
      assert.equal(parameter.tier, Buffer.byteLength(text) > 4096 ? "Advanced" : "Standard");
    });
  });

  describe("alarms", function () {
    it("four alarms per stream on Firehose's own metric names, notifying the topic", function () {
      const topicArn = `arn:aws:sns:${MOCK_REGION}:${MOCK_ACCOUNT_ID}:tributary-test-alarms`;
      for (const dataset of DATASETS) {
        const stream = `tributary-test-${dataset.name}`;
        const alarms = ["freshness", "throttled", "conversion-failed", "partitions-exceeded"].map(
          (role) => built.named(`tributary-alarms-${dataset.name}-${role}`).inputs,
        );
        assert.deepEqual(
          alarms.map((a) => [a.metricName, a.statistic, a.threshold, a.treatMissingData]),
          [
            ["DeliveryToS3.DataFreshness", "Maximum", 900, "missing"],
            ["ThrottledRecords", "Sum", 0, "notBreaching"],
            ["FailedConversion.Records", "Sum", 0, "notBreaching"],
            ["PartitionCountExceeded", "Maximum", 0, "notBreaching"],
          ],
        );
        for (const a of alarms) {
          assert.equal(a.namespace, "AWS/Firehose");
          assert.deepEqual(a.dimensions, { DeliveryStreamName: stream });
          assert.equal(a.comparisonOperator, "GreaterThanThreshold");
          assert.deepEqual(a.alarmActions, [topicArn]);
        }
      }
    });

    it("a transform function that fails batches alarms: Firehose would retry, then write them to processing-failed", function () {
      const topicArn = `arn:aws:sns:${MOCK_REGION}:${MOCK_ACCOUNT_ID}:tributary-test-alarms`;
      const transformed = DATASETS.filter((d) => d.transform !== undefined);
      assert.equal(
        transformed.length,
        built.resources.filter((r) => r.type === "tributary:transform:TransformFunction").length,
      );
      for (const dataset of transformed) {
        const fn = `tributary-test-${dataset.name}-transform`;
        assert.deepEqual(built.named(`tributary-alarms-${dataset.name}-transform-errors`).inputs, {
          name: `${fn} Errors`,
          alarmDescription: `${fn}: the transform failed whole batches; Firehose retries them, then writes them to errors/${dataset.name}/processing-failed/ (see the function's log group)`,
          namespace: "AWS/Lambda",
          metricName: "Errors",
          dimensions: { FunctionName: fn },
          statistic: "Sum",
          period: 300,
          evaluationPeriods: 1,
          comparisonOperator: "GreaterThanThreshold",
          threshold: 0,
          treatMissingData: "notBreaching",
          alarmActions: [topicArn],
          okActions: [topicArn],
          tags: { project: "tributary", environment: "test" },
        });
      }
    });

    it("lost data alarms per stream: S3 delivery success below 1, records rejected by the transform, records in the error output", function () {
      const topicArn = `arn:aws:sns:${MOCK_REGION}:${MOCK_ACCOUNT_ID}:tributary-test-alarms`;
      const bucket = BUCKET;
      for (const dataset of DATASETS) {
        const stream = `tributary-test-${dataset.name}`;
        const success = built.named(`tributary-alarms-${dataset.name}-delivery-success`).inputs;
        assert.deepEqual(
          [success.namespace, success.metricName, success.dimensions, success.statistic],
          ["AWS/Firehose", "DeliveryToS3.Success", { DeliveryStreamName: stream }, "Minimum"],
        );
        assert.deepEqual([success.comparisonOperator, success.threshold], ["LessThanThreshold", 1]);

        // The error output: a request-metrics filter on the dataset's error prefix, and an alarm on it.
        const spec = deliverySpecFor(dataset, DEFAULT_DELIVERY_SETTINGS, { prefix: "tributary-test" });
        const filter = built.named(`tributary-alarms-${dataset.name}-error-output-metric`).inputs;
        assert.deepEqual(filter, {
          bucket,
          name: `errors-${dataset.name}`,
          filter: { prefix: `errors/${dataset.name}/` },
        });
        assert.ok(spec.errorOutputPrefix.startsWith((filter.filter as { prefix: string }).prefix));
        const errors = built.named(`tributary-alarms-${dataset.name}-error-output`).inputs;
        assert.deepEqual(
          [errors.namespace, errors.metricName, errors.dimensions, errors.statistic, errors.threshold],
          ["AWS/S3", "PutRequests", { BucketName: bucket, FilterId: `errors-${dataset.name}` }, "Sum", 0],
        );

        for (const a of [success, errors]) {
          assert.deepEqual([a.alarmActions, a.okActions, a.treatMissingData], [[topicArn], [topicArn], "notBreaching"]);
        }
        if (dataset.transform === undefined) {
          assert.equal(
            built.resources.filter((r) => r.name === `tributary-alarms-${dataset.name}-transform-rejected`).length,
            0,
          );
          continue;
        }
        const rejected = built.named(`tributary-alarms-${dataset.name}-transform-rejected`).inputs;
        assert.deepEqual(
          [rejected.namespace, rejected.metricName, rejected.dimensions, rejected.statistic, rejected.threshold],
          ["Tributary/Transform", "Records.ProcessingFailed", { DeliveryStreamName: stream }, "Sum", 0],
        );
        assert.match(String(rejected.alarmDescription), new RegExp(`errors/${dataset.name}/processing-failed/`));
      }
    });

    it("the topic is encrypted with its own key, which CloudWatch may use, and only this account's alarms publish", function () {
      const topic = built.named("tributary-alarms-topic").inputs;
      const alarmKeyArn = `arn:aws:kms:${MOCK_REGION}:${MOCK_ACCOUNT_ID}:key/tributary-alarms-key-id`;
      assert.equal(topic.kmsMasterKeyId, alarmKeyArn);
      assert.equal(built.named("tributary-alarms-key").inputs.enableKeyRotation, true);
      const keyPolicy = parsed<PolicyDocument>(built.named("tributary-alarms-key"), "policy");
      assert.deepEqual(keyPolicy.Statement[1], {
        Sid: "CloudWatchAlarmsPublishToTheEncryptedTopic",
        Effect: "Allow",
        Principal: { Service: "cloudwatch.amazonaws.com" },
        Action: ["kms:Decrypt", "kms:GenerateDataKey*"],
        Resource: "*",
        Condition: { StringEquals: { "aws:SourceAccount": MOCK_ACCOUNT_ID } },
      });
      const topicPolicy = parsed<PolicyDocument>(built.named("tributary-alarms-topic-policy"), "policy");
      assert.deepEqual(topicPolicy.Statement[0].Condition, {
        StringEquals: { "aws:SourceAccount": MOCK_ACCOUNT_ID },
        ArnLike: { "aws:SourceArn": `arn:aws:cloudwatch:${MOCK_REGION}:${MOCK_ACCOUNT_ID}:alarm:*` },
      });
    });

    it("has no e-mail subscription unless one is configured", function () {
      assert.deepEqual(built.ofType("aws:sns/topicSubscription:TopicSubscription"), []);
    });
  });
});
