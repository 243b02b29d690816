import { strict as assert } from "assert";
import { execFile } from "child_process";
import * as path from "path";
import { promisify } from "util";
import { analyticsOf } from "../../infra/platform";
import { queryKeys } from "../../src/spec";
import type { PolicyStatement } from "../../infra/iam/policy";
import { wildcardViolations } from "../support/policy-rules";
import { list, ofType, planJson, policyDocuments, ROOT, type Planned } from "../support/plan";
import { allDatasets } from "../../src/datasets";

/**
 * The acceptance checks of issues #2 and #3, run on what a user runs: `tributary plan <stack> --json`
 * for the committed Pulumi.dev.yaml and Pulumi.prod.yaml, in child processes (no AWS, no Pulumi CLI).
 */
const plan = planJson;

/** Every IAM-style policy document in the plan, with where it came from. */
function policies(resources: Planned[]): Array<{ where: string; type: string; statements: PolicyStatement[] }> {
  return policyDocuments(resources).map((p) => ({
    where: p.where,
    type: p.resource.type,
    statements: p.document.Statement,
  }));
}

for (const stack of ["dev", "prod"]) {
  describe(`tributary plan ${stack} --json`, function () {
    this.timeout(180_000);
    let resources: Planned[];
    before(async () => {
      resources = await plan(stack);
    });

    it("prints every resource with type, name, id and parent; inputs refer to other resources by their ids", () => {
      assert.ok(resources.length > 150, `${resources.length} resources`);
      for (const r of resources) assert.deepEqual(Object.keys(r), ["type", "name", "id", "parent", "inputs"]);
      const names = new Set(resources.map((r) => r.name));
      for (const r of resources)
        if (r.parent !== null) assert.ok(names.has(r.parent), `${r.name}'s parent ${r.parent}`);
      const ids = new Set(resources.map((r) => r.id));
      const notification = ofType(resources, "aws:s3/bucketNotification:BucketNotification")[0];
      assert.ok(ids.has(String(notification.inputs.bucket)), "the bucket notification names the lake bucket by its id");
    });

    it("backfill: the replay function, and the one bucket notification invokes it for each dataset's raw/<dataset>/files/", () => {
      const functions = ofType(resources, "aws:lambda/function:Function").filter((f) =>
        String(f.inputs.name).endsWith("-replay"),
      );
      assert.equal(functions.length, 1);
      const notifications = ofType(resources, "aws:s3/bucketNotification:BucketNotification");
      assert.equal(notifications.length, 1);
      const rules = notifications[0].inputs.lambdaFunctions as Array<{ filterPrefix: string; events: string[] }>;
      const datasets = ofType(resources, "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream").length;
      assert.equal(rules.length, datasets);
      for (const rule of rules) {
        assert.match(rule.filterPrefix, /^raw\/[^/]+\/files\/$/);
        assert.deepEqual(rule.events, ["s3:ObjectCreated:*"]);
      }
    });

    it("one Firehose stream per dataset: DP, de-aggregation, JQ-1.6 keys = prefix keys, Parquet, buffering, errors, logging, SSE", () => {
      const streams = ofType(resources, "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream");
      assert.equal(streams.length, allDatasets().length);
      for (const stream of streams) {
        const s3 = stream.inputs.extendedS3Configuration as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
        const where = String(stream.inputs.name);
        assert.equal(s3.dynamicPartitioningConfiguration.enabled, true, where);
        const processors = s3.processingConfiguration.processors as Array<{
          type: string;
          parameters: Array<{ parameterName: string; parameterValue: string }>;
        }>;
        const param = (type: string, name: string) =>
          processors.find((p) => p.type === type)?.parameters.find((p) => p.parameterName === name)?.parameterValue;
        assert.equal(param("RecordDeAggregation", "SubRecordType"), "JSON", where);
        assert.equal(param("MetadataExtraction", "JsonParsingEngine"), "JQ-1.6", where);
        const keys = queryKeys(param("MetadataExtraction", "MetadataExtractionQuery")!);
        const prefixKeys = [...String(s3.prefix).matchAll(/!\{partitionKeyFromQuery:([^}]+)\}/g)].map((m) => m[1]);
        assert.deepEqual(keys, prefixKeys, where);
        assert.equal(s3.dataFormatConversionConfiguration.enabled, true, where);
        assert.ok(s3.dataFormatConversionConfiguration.outputFormatConfiguration.serializer.parquetSerDe, where);
        assert.ok(s3.bufferingSize >= 64 && s3.bufferingInterval >= 60, where);
        assert.match(s3.errorOutputPrefix, /!\{firehose:error-output-type\}/, where);
        assert.equal(s3.cloudwatchLoggingOptions.enabled, true, where);
        assert.equal(s3.compressionFormat, "UNCOMPRESSED", where);
        assert.deepEqual(
          {
            enabled: (stream.inputs.serverSideEncryption as { enabled: boolean }).enabled,
            keyType: (stream.inputs.serverSideEncryption as { keyType: string }).keyType,
          },
          { enabled: true, keyType: "CUSTOMER_MANAGED_CMK" },
          where,
        );
      }
    });

    it("a dashboard and the lost-data alarms, per stream, all notifying the stack's topic", () => {
      const [dashboard] = ofType(resources, "aws:cloudwatch/dashboard:Dashboard");
      assert.equal(dashboard.inputs.dashboardName, `tributary-${stack}`);
      const body = JSON.parse(String(dashboard.inputs.dashboardBody)) as { widgets: Array<{ type: string }> };
      assert.ok(body.widgets.filter((w) => w.type === "metric").length >= 9 * 6);
      const alarms = ofType(resources, "aws:cloudwatch/metricAlarm:MetricAlarm");
      const streams = ofType(resources, "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream").map((s) =>
        String(s.inputs.name),
      );
      const on = (metricName: string) =>
        alarms.filter((a) => a.inputs.metricName === metricName).map((a) => JSON.stringify(a.inputs.dimensions));
      for (const stream of streams) {
        assert.ok(on("DeliveryToS3.Success").includes(JSON.stringify({ DeliveryStreamName: stream })), stream);
        assert.ok(on("DeliveryToS3.DataFreshness").includes(JSON.stringify({ DeliveryStreamName: stream })), stream);
      }
      assert.equal(on("PutRequests").length, streams.length);
      assert.equal(
        on("Records.ProcessingFailed").length,
        ofType(resources, "tributary:transform:TransformFunction").length,
      );
      assert.equal(on("LoadFailures").length, 1);
      const topics = new Set(alarms.flatMap((a) => a.inputs.alarmActions as string[]));
      assert.equal(topics.size, 1);
    });

    it("the standalone shipper for the log servers: the bundle, a spec and a unit per served dataset, and the agent role's read of exactly those", () => {
      const objects = ofType(resources, "aws:s3/bucketObjectv2:BucketObjectv2");
      const served = allDatasets().filter((d) => !d.source.agentUnsupported);
      const byKey = new Map(objects.map((o) => [String(o.inputs.key), o]));
      const bundle = byKey.get("install/shipper/tributary-ship.js");
      assert.ok(bundle, "the bundle object");
      assert.ok(bundle.inputs.source, "the bundle is uploaded from the built file");
      for (const d of served) {
        const spec = byKey.get(`install/shipper/specs/${d.name}.json`);
        assert.equal(JSON.parse(String(spec?.inputs.content)).name, d.name);
        const unit = String(byKey.get(`install/shipper/units/tributary-ship-${d.name}.service`)?.inputs.content);
        assert.match(
          unit,
          new RegExp(
            `^ExecStart=.*--spec /etc/tributary/${d.name}\\.json --stream tributary-${stack}-${d.name} .*--follow`,
            "m",
          ),
        );
      }
      assert.equal(objects.length, 1 + 2 * served.length);
      const grant = policies(resources)
        .filter((p) => p.where.endsWith("agent-role-policy.policy"))
        .flatMap((p) => p.statements)
        .find((st) => st.Sid === "ReadShipperInstall");
      assert.deepEqual(
        [...list(grant?.Resource as string | string[])].sort(),
        objects.map((o) => `arn:aws:s3:::${String(o.inputs.bucket)}/${String(o.inputs.key)}`).sort(),
      );
    });

    it("no IAM allow statement with action * or service:*, and Resource * only for actions that have no resource scope", () => {
      const docs = policies(resources);
      assert.ok(docs.length > 30, `${docs.length} policy documents`);
      const violations = docs.flatMap(({ where, type, statements }) =>
        wildcardViolations({ Statement: statements }, { keyPolicy: type === "aws:kms/key:Key" }).map(
          (v) => `${where}: ${v}`,
        ),
      );
      assert.deepEqual(violations, []);
    });

    it("every bucket: SSE, versioning, TLS-only policy, all four public-access blocks", () => {
      const buckets = ofType(resources, "aws:s3/bucket:Bucket").map((b) => String(b.inputs.bucket));
      assert.equal(buckets.length, 2);
      const forBucket = (type: string) =>
        new Map(ofType(resources, type).map((r) => [String(r.inputs.bucket), r.inputs]));
      const sse = forBucket("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration");
      const versioning = forBucket("aws:s3/bucketVersioning:BucketVersioning");
      const policy = forBucket("aws:s3/bucketPolicy:BucketPolicy");
      const block = forBucket("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock");
      for (const bucket of buckets) {
        const rules = (sse.get(bucket)?.rules ?? []) as Array<{
          applyServerSideEncryptionByDefault: { sseAlgorithm: string };
        }>;
        assert.ok(["aws:kms", "AES256"].includes(rules[0]?.applyServerSideEncryptionByDefault.sseAlgorithm), bucket);
        assert.equal((versioning.get(bucket)?.versioningConfiguration as { status: string }).status, "Enabled", bucket);
        const statements = list(
          (JSON.parse(String(policy.get(bucket)?.policy)) as { Statement: PolicyStatement[] }).Statement,
        );
        assert.ok(
          statements.some(
            (s) =>
              s.Effect === "Deny" &&
              JSON.stringify(s.Condition) === JSON.stringify({ Bool: { "aws:SecureTransport": "false" } }),
          ),
          `${bucket} is not TLS-only`,
        );
        const b = block.get(bucket)!;
        assert.deepEqual(
          [b.blockPublicAcls, b.blockPublicPolicy, b.ignorePublicAcls, b.restrictPublicBuckets],
          [true, true, true, true],
          bucket,
        );
      }
    });

    it("every log group has a retention and a KMS key", () => {
      const groups = ofType(resources, "aws:cloudwatch/logGroup:LogGroup");
      assert.ok(groups.length >= 17);
      for (const g of groups) {
        assert.ok(Number(g.inputs.retentionInDays) > 0, g.name);
        assert.match(String(g.inputs.kmsKeyId), /^arn:aws:kms:/, g.name);
      }
    });

    it("the warehouse: a private, encrypted Serverless workgroup with EVR and a managed password, in a 3-AZ VPC", () => {
      assert.equal(ofType(resources, "awsx:ec2:Vpc").length, 1);
      const namespace = ofType(resources, "aws:redshiftserverless/namespace:Namespace")[0].inputs;
      const workgroup = ofType(resources, "aws:redshiftserverless/workgroup:Workgroup")[0].inputs;
      assert.equal(namespace.manageAdminPassword, true);
      assert.equal(namespace.adminUserPassword, undefined);
      assert.match(String(namespace.kmsKeyId), /^arn:aws:kms:/);
      assert.equal(workgroup.publiclyAccessible, false);
      assert.equal(workgroup.enhancedVpcRouting, true);
      assert.equal((workgroup.subnetIds as string[]).length, 3);
      assert.equal(workgroup.baseCapacity, stack === "dev" ? 8 : 32);
      const params = workgroup.configParameters as Array<{ parameterKey: string; parameterValue: string }>;
      assert.equal(params.find((p) => p.parameterKey === "require_ssl")?.parameterValue, "true");
    });

    it("the star schemas in the lake: a Parquet Glue table under analytics/ per exported model table, partition projection where partitioned; a named query per model question", () => {
      const { tables, questions } = analyticsOf(allDatasets());
      const glue = ofType(resources, "aws:glue/catalogTable:CatalogTable");
      const database = ofType(resources, "aws:glue/catalogDatabase:CatalogDatabase")[0];
      assert.ok(tables.length > 0 && questions.length > 0);
      for (const target of tables) {
        const table = glue.find((t) => t.inputs.name === target.table.name);
        assert.ok(table, `no Glue table ${target.table.name}`);
        assert.equal(table.inputs.databaseName, database.inputs.name);
        const storage = table.inputs.storageDescriptor as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
        assert.match(
          String(storage.location),
          new RegExp(`^s3://[^/]+/analytics/${target.model}/${target.table.name}/$`),
        );
        assert.equal(
          storage.serDeInfo.serializationLibrary,
          "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
        );
        assert.deepEqual(
          storage.columns.map((c: { name: string }) => c.name),
          target.columns.map((c) => c.name),
        );
        const params = table.inputs.parameters as Record<string, string>;
        const keys = list(table.inputs.partitionKeys as Array<{ name: string; type: string }>);
        assert.deepEqual(
          keys.map((k) => `${k.name}:${k.type}`),
          target.partitions.map((p) => `${p.name}:${p.type}`),
        );
        if (keys.length > 0) {
          assert.equal(params["projection.enabled"], "true");
          assert.equal(
            params["storage.location.template"],
            `${String(storage.location)}${keys.map((k) => `${k.name}=\${${k.name}}/`).join("")}`,
          );
          for (const k of keys) assert.equal(params[`projection.${k.name}.type`], "integer");
        } else {
          assert.equal(params["projection.enabled"], undefined);
        }
      }
      const songplays = glue.find((t) => t.inputs.name === "songplays");
      assert.deepEqual(
        list(songplays?.inputs.partitionKeys as Array<{ name: string }>).map((k) => k.name),
        ["year", "month"],
      );
      const workgroup = ofType(resources, "aws:athena/workgroup:Workgroup")[0];
      const named = ofType(resources, "aws:athena/namedQuery:NamedQuery");
      assert.deepEqual(named.map((q) => q.inputs.name).sort(), questions.map((q) => q.question.title).sort());
      for (const q of named) {
        assert.equal(q.inputs.workgroup, workgroup.inputs.name);
        assert.equal(q.inputs.database, database.inputs.name);
        // Athena reads the Glue tables, never the warehouse's schema.
        assert.doesNotMatch(String(q.inputs.query), /analytics\.|\{/);
      }
      assert.ok(named.some((q) => /FROM "songplays"/.test(String(q.inputs.query))));
    });

    it("the loader: function, its role, queue and dead-letter queue, schedule", () => {
      const names = resources.map((r) => `${r.type} ${r.name}`);
      for (const expected of [
        "aws:lambda/function:Function tributary-loader-function",
        "aws:iam/role:Role tributary-loader-role",
        "aws:sqs/queue:Queue tributary-loader-queue",
        "aws:sqs/queue:Queue tributary-loader-dlq",
        "aws:cloudwatch/eventRule:EventRule tributary-loader-schedule",
      ]) {
        assert.ok(names.includes(expected), expected);
      }
      const rule = resources.find((r) => r.name === "tributary-loader-schedule")!;
      assert.equal(rule.inputs.scheduleExpression, stack === "dev" ? "rate(5 minutes)" : "rate(15 minutes)");
    });
  });
}

describe("tributary plan: errors", function () {
  this.timeout(60_000);
  it("an unknown stack names the known ones and how to add one", async () => {
    const result = await promisify(execFile)(process.execPath, [path.join(ROOT, "bin", "tributary.js"), "plan", "qa"], {
      cwd: ROOT,
    }).then(
      () => assert.fail("expected a non-zero exit"),
      (err: { code: number; stderr: string }) => err,
    );
    assert.equal(result.code, 2);
    assert.equal(
      result.stderr,
      `error TRIBUTARY_UNKNOWN_STACK: No Pulumi.qa.yaml in ${ROOT}. Known stacks: dev, prod. A new environment is one new file: copy Pulumi.dev.yaml to Pulumi.qa.yaml.\n`,
    );
  });
});

describe("tributary agent-config", function () {
  this.timeout(60_000);
  it("prints the agent.json the prod stack stores in SSM: one flow per dataset and per COVIDx split", async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [path.join(ROOT, "bin", "tributary.js"), "agent-config", "prod"],
      { cwd: ROOT },
    );
    const config = JSON.parse(stdout) as {
      "firehose.endpoint": string;
      flows: Array<{ deliveryStream: string; initialPosition: string }>;
    };
    assert.equal(config["firehose.endpoint"], "firehose.eu-west-1.amazonaws.com");
    // One flow per dataset the agent can ship, and one per COVIDx split (the song files, one JSON
    // document per file, ship with `tributary ship`).
    const shippable = allDatasets().filter((d) => !d.source.agentUnsupported);
    assert.equal(
      config.flows.length,
      shippable.reduce((sum, d) => sum + Math.max(1, d.source.fileVariants?.length ?? 0), 0),
    );
    assert.deepEqual(new Set(config.flows.map((f) => f.deliveryStream)).size, shippable.length);
    for (const flow of config.flows) {
      assert.match(flow.deliveryStream, /^tributary-prod-/);
      // prod starts at the end of existing files; dev (for trying things) ships them from the start.
      assert.equal(flow.initialPosition, "END_OF_FILE");
    }
  });

  it("--parameter-name prints the SSM parameter a log server reads agent.json from", async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [path.join(ROOT, "bin", "tributary.js"), "agent-config", "prod", "--parameter-name"],
      { cwd: ROOT },
    );
    assert.equal(stdout, "/tributary/tributary-prod/agent.json\n");
  });
});
