import { strict as assert } from "assert";
import { allDatasets } from "../../src/datasets";
import { notificationRuleProblems } from "../../infra/lake-notifications";
import { MOCK_ACCOUNT_ID, MOCK_REGION } from "../support/pulumi-mocks";
import { BASE_ARGS, basePlatform, buildPlatform, parsed } from "./fixture";
import type { PolicyDocument } from "../../infra/iam/policy";

/**
 * The lake bucket has one notification configuration (S3 keeps one per bucket): the loader's queue
 * rule for curated/ and one replay rule per dataset for raw/<dataset>/files/, in one resource, with
 * or without a warehouse. Rules S3 would refuse as overlapping are refused at preview.
 */
const BUCKET = `tributary-test-lake-${MOCK_ACCOUNT_ID}-${MOCK_REGION}`;
const NOTIFICATION = "aws:s3/bucketNotification:BucketNotification";
const DATASETS = allDatasets();

describe("infra: the lake bucket's notifications", function () {
  this.timeout(120_000);

  const replayRules = (functionArn: string) =>
    DATASETS.map((d) => ({
      id: `replay-${d.name}`,
      lambdaFunctionArn: functionArn,
      events: ["s3:ObjectCreated:*"],
      filterPrefix: `raw/${d.name}/files/`,
    }));

  it("with a warehouse: one configuration, the loader's queue for curated/ and the replay for each raw/<dataset>/files/", async () => {
    const built = await basePlatform();
    const notifications = built.ofType(NOTIFICATION);
    assert.equal(notifications.length, 1);
    const functionArn = `arn:aws:lambda:${MOCK_REGION}:${MOCK_ACCOUNT_ID}:function:tributary-test-replay`;
    assert.deepEqual(notifications[0].inputs, {
      bucket: BUCKET,
      queues: [
        {
          id: "load-curated-parquet",
          queueArn: `arn:aws:sqs:${MOCK_REGION}:${MOCK_ACCOUNT_ID}:tributary-test-load`,
          events: ["s3:ObjectCreated:*"],
          filterPrefix: "curated/",
          filterSuffix: ".parquet",
        },
      ],
      lambdaFunctions: replayRules(functionArn),
    });
    // S3 may invoke the replay only for this bucket, in this account.
    const permission = built.named("tributary-replay-s3-permission");
    assert.deepEqual(
      [
        permission.inputs.principal,
        permission.inputs.sourceArn,
        permission.inputs.sourceAccount,
        permission.inputs.action,
      ],
      ["s3.amazonaws.com", `arn:aws:s3:::${BUCKET}`, MOCK_ACCOUNT_ID, "lambda:InvokeFunction"],
    );
    // Failed events go to the replay's DLQ after Lambda's two retries (each resumes from the checkpoint).
    const invokeConfig = built
      .ofType("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig")
      .find((r) => r.name === "tributary-replay-invoke-config");
    assert.deepEqual(invokeConfig?.inputs.maximumRetryAttempts, 2);
    assert.deepEqual(invokeConfig?.inputs.destinationConfig, {
      onFailure: { destination: `arn:aws:sqs:${MOCK_REGION}:${MOCK_ACCOUNT_ID}:tributary-test-replay-dlq` },
    });
    const policy = parsed<PolicyDocument>(built.named("tributary-replay-role-policy"), "policy");
    assert.deepEqual(
      policy.Statement.find((s) => s.Sid === "SendToDatasetStreams")?.Resource,
      DATASETS.map((d) => `arn:aws:firehose:${MOCK_REGION}:${MOCK_ACCOUNT_ID}:deliverystream/tributary-test-${d.name}`),
    );
  });

  it("without a warehouse: the same configuration holds the replay rules alone", async () => {
    const built = await buildPlatform("lakeonly", { ...BASE_ARGS, warehouse: undefined });
    const notifications = built.ofType(NOTIFICATION);
    assert.equal(notifications.length, 1);
    const functionArn = `arn:aws:lambda:${MOCK_REGION}:${MOCK_ACCOUNT_ID}:function:tributary-test-replay`;
    assert.deepEqual(notifications[0].inputs, { bucket: BUCKET, lambdaFunctions: replayRules(functionArn) });
  });

  it("refuses rules S3 would reject as overlapping, and duplicated ids, naming both rules", () => {
    const base = { events: ["s3:ObjectCreated:*"] };
    assert.deepEqual(
      notificationRuleProblems([
        { ...base, id: "load", filterPrefix: "curated/", filterSuffix: ".parquet" },
        { ...base, id: "replay-a", filterPrefix: "raw/a/files/" },
        { ...base, id: "replay-b", filterPrefix: "raw/b/files/" },
        // Another event type never overlaps.
        { events: ["s3:ObjectRemoved:*"], id: "removed", filterPrefix: "curated/" },
      ]),
      [],
    );
    assert.deepEqual(
      notificationRuleProblems([
        { ...base, id: "all-raw", filterPrefix: "raw/" },
        { events: ["s3:ObjectCreated:Put"], id: "replay-a", filterPrefix: "raw/a/files/" },
        { ...base, id: "all-raw", filterSuffix: ".x" },
      ]),
      [
        'two rules have the id "all-raw"; give each rule its own id.',
        'rules "all-raw" (prefix "raw/" suffix "") and "replay-a" (prefix "raw/a/files/" suffix "") overlap on the same event: S3 refuses the configuration. Give them prefixes where neither starts the other (e.g. curated/ and raw/<dataset>/files/), or suffixes where neither ends the other.',
        'rules "all-raw" (prefix "raw/" suffix "") and "all-raw" (prefix "" suffix ".x") overlap on the same event: S3 refuses the configuration. Give them prefixes where neither starts the other (e.g. curated/ and raw/<dataset>/files/), or suffixes where neither ends the other.',
        'rules "replay-a" (prefix "raw/a/files/" suffix "") and "all-raw" (prefix "" suffix ".x") overlap on the same event: S3 refuses the configuration. Give them prefixes where neither starts the other (e.g. curated/ and raw/<dataset>/files/), or suffixes where neither ends the other.',
      ],
    );
  });
});
