import { strict as assert } from "assert";
import { datasetByName } from "../../src/datasets";
import { DEFAULT_DELIVERY_SETTINGS } from "../../src/spec";
import type { PolicyDocument } from "../../infra/iam/policy";
import { MOCK_ACCOUNT_ID, MOCK_REGION, promiseOf } from "../support/pulumi-mocks";
import { BASE_ARGS, buildPlatform, parsed, type BuiltPlatform } from "./fixture";

/** Every optional setting set and every overridable default overridden, on two datasets (one transformed). */
describe("infra: Platform with every override", function () {
  let built: BuiltPlatform;
  before(async function () {
    built = await buildPlatform("override", {
      ...BASE_ARGS,
      namePrefix: "tributary-ovr",
      datasets: [datasetByName("weblogs"), datasetByName("sparkify_events")],
      delivery: {
        ...DEFAULT_DELIVERY_SETTINGS,
        bufferingSizeMiB: 128,
        bufferingIntervalSeconds: 900,
        lambdaProcessor: { ...DEFAULT_DELIVERY_SETTINGS.lambdaProcessor, bufferSizeMiB: 3 },
      },
      storage: { ...BASE_ARGS.storage, forceDestroy: true, rawTransitionToIaDays: 60 },
      logRetentionDays: 7,
      kms: { deletionWindowDays: 7 },
      alarms: { email: "oncall@example.com", freshnessThresholdSeconds: 1800 },
      agent: { trustedAccountIds: ["210987654321"], assumeRoleExternalId: "tributary-onprem" },
      athena: { bytesScannedCutoffPerQuery: 1_000_000_000, forceDestroy: true },
    });
  });

  it("builds one stream per given dataset and a transform function only for the transformed one", function () {
    assert.equal(built.ofType("aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream").length, 2);
    assert.deepEqual(
      // Registration order depends on how long each closure takes to serialize.
      built
        .ofType("aws:lambda/function:Function")
        .map((f) => f.inputs.name)
        .sort(),
      ["tributary-ovr-loader", "tributary-ovr-replay", "tributary-ovr-weblogs-transform"],
    );
  });

  it("storage.forceDestroy reaches both buckets", function () {
    for (const bucket of built.ofType("aws:s3/bucket:Bucket")) assert.equal(bucket.inputs.forceDestroy, true);
  });

  it("storage.rawTransitionToIaDays adds a raw/ → STANDARD_IA rule", function () {
    const rules = built.named("override-storage-lake-lifecycle").inputs.rules as Array<{ id: string }>;
    assert.deepEqual(
      rules.find((r) => r.id === "raw-to-standard-ia"),
      {
        id: "raw-to-standard-ia",
        status: "Enabled",
        filter: { prefix: "raw/" },
        transitions: [{ days: 60, storageClass: "STANDARD_IA" }],
      },
    );
  });

  it("logRetentionDays reaches every log group", function () {
    const groups = built.ofType("aws:cloudwatch/logGroup:LogGroup");
    // weblogs' stream and transform function, syslog's stream, the loader, the replay.
    assert.equal(groups.length, 5);
    for (const group of groups) assert.equal(group.inputs.retentionInDays, 7);
  });

  it("kms.deletionWindowDays reaches both keys", function () {
    for (const key of built.ofType("aws:kms/key:Key")) assert.equal(key.inputs.deletionWindowInDays, 7);
  });

  it("delivery settings reach the stream: buffering, and the Lambda processor's non-default buffer size", function () {
    const s3 = built.named("override-weblogs-stream").inputs.extendedS3Configuration as {
      bufferingSize: number;
      bufferingInterval: number;
      processingConfiguration: { processors: Array<{ type: string; parameters: unknown[] }> };
    };
    assert.equal(s3.bufferingSize, 128);
    assert.equal(s3.bufferingInterval, 900);
    const lambda = s3.processingConfiguration.processors.find((p) => p.type === "Lambda");
    assert.deepEqual(lambda?.parameters, [
      {
        parameterName: "LambdaArn",
        parameterValue: `arn:aws:lambda:${MOCK_REGION}:${MOCK_ACCOUNT_ID}:function:tributary-ovr-weblogs-transform:$LATEST`,
      },
      { parameterName: "BufferSizeInMBs", parameterValue: "3" },
    ]);
  });

  it("alarms.email subscribes the address and the freshness threshold is the configured one", function () {
    const subscriptions = built.ofType("aws:sns/topicSubscription:TopicSubscription");
    assert.deepEqual(
      subscriptions.map((s) => [s.inputs.protocol, s.inputs.endpoint, s.inputs.topic]),
      [["email", "oncall@example.com", `arn:aws:sns:${MOCK_REGION}:${MOCK_ACCOUNT_ID}:tributary-ovr-alarms`]],
    );
    assert.equal(built.named("override-alarms-weblogs-freshness").inputs.threshold, 1800);
  });

  it("agent.trustedAccountIds lets those accounts assume the agent role with the external id, and agent.json says so", async function () {
    const trust = parsed<PolicyDocument>(built.named("override-agent-role"), "assumeRolePolicy");
    assert.deepEqual(trust.Statement[1], {
      Sid: "HostsOutsideEc2",
      Effect: "Allow",
      Principal: { AWS: ["arn:aws:iam::210987654321:root"] },
      Action: "sts:AssumeRole",
      Condition: { StringEquals: { "sts:ExternalId": "tributary-onprem" } },
    });
    const config = JSON.parse(await promiseOf(built.platform.agentConfig)) as Record<string, unknown>;
    assert.equal(config.assumeRoleARN, `arn:aws:iam::${MOCK_ACCOUNT_ID}:role/tributary-ovr-agent`);
    assert.equal(config.assumeRoleExternalId, "tributary-onprem");
    // Two datasets' flows fit the Standard tier.
    assert.equal(built.named("override-agent-config").inputs.tier, "Standard");
  });

  it("athena settings reach the workgroup", function () {
    const wg = built.named("override-catalog-workgroup").inputs as {
      forceDestroy: boolean;
      configuration: { bytesScannedCutoffPerQuery: number };
    };
    assert.equal(wg.forceDestroy, true);
    assert.equal(wg.configuration.bytesScannedCutoffPerQuery, 1_000_000_000);
  });
});
