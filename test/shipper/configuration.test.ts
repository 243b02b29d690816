import { strict as assert } from "assert";
import { FirehoseClient } from "@aws-sdk/client-firehose";
import { checkClientConfiguration } from "../../src/shipper/firehose";

/** Configuration problems are reported at start, not retried as if the network were down. */
describe("ship: AWS configuration is checked before anything is read", () => {
  const saved = { ...process.env };
  beforeEach(() => {
    for (const key of [
      "AWS_REGION",
      "AWS_DEFAULT_REGION",
      "AWS_PROFILE",
      "AWS_ACCESS_KEY_ID",
      "AWS_SECRET_ACCESS_KEY",
    ]) {
      delete process.env[key];
    }
    process.env.AWS_CONFIG_FILE = "/nonexistent/tributary-test/config";
    process.env.AWS_SHARED_CREDENTIALS_FILE = "/nonexistent/tributary-test/credentials";
    // No instance metadata probe: this is not an EC2 instance.
    process.env.AWS_EC2_METADATA_DISABLED = "true";
  });
  afterEach(() => {
    process.env = { ...saved };
  });

  it("no region: TRIBUTARY_NO_AWS_REGION, naming --region and AWS_REGION", async () => {
    await assert.rejects(checkClientConfiguration(new FirehoseClient({})), {
      code: "TRIBUTARY_NO_AWS_REGION",
      message: "No AWS region: pass --region <region>, or set AWS_REGION (or a region in ~/.aws/config).",
    });
  });

  it("a region but no credentials: TRIBUTARY_NO_AWS_CREDENTIALS, naming the ways to configure them", async () => {
    await assert.rejects(
      checkClientConfiguration(new FirehoseClient({ region: "eu-west-1" })),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, "TRIBUTARY_NO_AWS_CREDENTIALS");
        assert.match(err.message, /^No AWS credentials \(.+\): configure them as for the AWS CLI/);
        return true;
      },
    );
  });

  it("region and credentials present: no error", async () => {
    await checkClientConfiguration(
      new FirehoseClient({ region: "eu-west-1", credentials: { accessKeyId: "AKID", secretAccessKey: "secret" } }),
    );
  });
});
