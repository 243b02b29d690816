import { strict as assert } from "assert";
import { agentPolicy, agentTrustPolicy } from "../../infra/iam/agent";
import { firehoseDeliveryPolicy, staticPrefix } from "../../infra/iam/firehose";
import { KEY_ACCOUNT_ACTIONS, lakeKeyPolicy } from "../../infra/iam/kms";
import { serviceHost, type AccountContext } from "../../infra/iam/policy";
import { parameterTierFor } from "../../infra/agent-target";

const account: AccountContext = { partition: "aws-cn", accountId: "123456789012", region: "cn-north-1" };

describe("infra: IAM policy documents (pure)", function () {
  it("staticPrefix keeps the folders no expression changes", function () {
    assert.equal(staticPrefix("curated/weblogs/dt=!{partitionKeyFromQuery:dt}/"), "curated/weblogs/");
    assert.equal(staticPrefix("errors/weblogs/!{firehose:error-output-type}/"), "errors/weblogs/");
    assert.equal(staticPrefix("raw/weblogs/"), "raw/weblogs/");
  });

  it("a stream without a transform gets no Lambda permission at all", function () {
    const doc = firehoseDeliveryPolicy({
      region: "eu-west-1",
      bucketArn: "arn:aws:s3:::lake",
      objectPrefixes: ["curated/songs/", "errors/songs/"],
      keyArn: "arn:aws:kms:eu-west-1:123456789012:key/k",
      glueArns: ["c", "d", "t"],
      logStreamArn: "arn:aws:logs:eu-west-1:123456789012:log-group:g:log-stream:s",
    });
    assert.deepEqual(
      doc.Statement.map((s) => s.Sid),
      [
        "LocateAndListTheLakeBucket",
        "WriteOwnPrefixes",
        "EncryptObjectsThroughS3",
        "ReadTheParquetSchema",
        "LogDeliveryErrors",
      ],
    );
    assert.deepEqual(doc.Statement[2].Condition, {
      StringEquals: { "kms:ViaService": "s3.eu-west-1.amazonaws.com" },
      StringLike: {
        "kms:EncryptionContext:aws:s3:arn": [
          "arn:aws:s3:::lake",
          "arn:aws:s3:::lake/curated/songs/*",
          "arn:aws:s3:::lake/errors/songs/*",
        ],
      },
    });
  });

  it("the key policy administers the key without kms:* and names CloudWatch Logs by its regional host", function () {
    const doc = lakeKeyPolicy({
      account,
      logGroupArnPatterns: ["arn:aws-cn:logs:cn-north-1:123456789012:log-group:/aws/lambda/x-*"],
    });
    assert.equal(KEY_ACCOUNT_ACTIONS.includes("kms:*"), false);
    assert.ok(KEY_ACCOUNT_ACTIONS.includes("kms:Put*"), "the account must keep the right to fix the key policy");
    assert.deepEqual(doc.Statement[0].Principal, { AWS: "arn:aws-cn:iam::123456789012:root" });
    assert.deepEqual(doc.Statement[1].Principal, { Service: "logs.cn-north-1.amazonaws.com.cn" });
    assert.equal(serviceHost("s3", "eu-west-1"), "s3.eu-west-1.amazonaws.com");
  });

  it("the agent may only PutRecordBatch (its FirehoseSender never calls PutRecord)", function () {
    const doc = agentPolicy({
      streamArns: ["arn:aws:firehose:eu-west-1:123456789012:deliverystream/a"],
      configParameterArn: "arn:aws:ssm:eu-west-1:123456789012:parameter/tributary/x/agent.json",
    });
    assert.deepEqual(doc.Statement[0].Action, "firehose:PutRecordBatch");
    assert.equal(
      doc.Statement.find((s) => s.Sid === "ReadShipperInstall"),
      undefined,
      "no S3 grant without install objects",
    );
  });

  it("the standalone shipper's servers read exactly its install objects, and nothing else in the bucket", function () {
    const objects = [
      "arn:aws:s3:::lake/install/shipper/tributary-ship.js",
      "arn:aws:s3:::lake/install/shipper/specs/a.json",
    ];
    const doc = agentPolicy({
      streamArns: ["arn:aws:firehose:eu-west-1:123456789012:deliverystream/a"],
      configParameterArn: "arn:aws:ssm:eu-west-1:123456789012:parameter/tributary/x/agent.json",
      installObjectArns: objects,
    });
    assert.deepEqual(
      doc.Statement.find((s) => s.Sid === "ReadShipperInstall"),
      { Sid: "ReadShipperInstall", Effect: "Allow", Action: "s3:GetObject", Resource: objects },
    );
  });

  it("trusting other accounts without an external id is refused", function () {
    assert.throws(
      () => agentTrustPolicy({ account, trustedAccountIds: ["210987654321"] }),
      /trusted accounts need an external id/,
    );
    assert.equal(agentTrustPolicy({ account, trustedAccountIds: [] }).Statement.length, 1);
  });

  it("agent.json goes to the cheapest SSM tier that holds it", function () {
    assert.equal(parameterTierFor("x".repeat(4096)), "Standard");
    assert.equal(parameterTierFor("x".repeat(4097)), "Advanced");
    assert.equal(parameterTierFor("x".repeat(8192)), "Advanced");
    assert.equal(parameterTierFor("x".repeat(8193)), undefined);
    assert.equal(parameterTierFor("é".repeat(2049)), "Advanced", "the limit is in bytes, not characters");
  });
});
