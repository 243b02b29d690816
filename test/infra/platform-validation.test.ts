import { strict as assert } from "assert";
import { datasetByName } from "../../src/datasets";
import type { Dataset } from "../../src/datasets/types";
import { TributaryError } from "../../src/errors";
import { deliverySpecFor } from "../../src/spec";
import type { PlatformArgs } from "../../infra/platform";
import { platformArgsProblems } from "../../infra/platform-validation";
import { BASE_ARGS } from "./fixture";

const problemsOf = (overrides: Partial<PlatformArgs>): string[] => platformArgsProblems({ ...BASE_ARGS, ...overrides });

describe("infra: platform argument validation", function () {
  it("refuses a dataset whose agent processing the shipper cannot reproduce, naming the dataset and option", function () {
    const [first, ...rest] = BASE_ARGS.datasets;
    const odd = {
      ...first,
      source: { ...first.source, agentProcessing: [{ optionName: "ADDEC2METADATA" }] },
    } as unknown as typeof first;
    const problems = problemsOf({ datasets: [odd, ...rest] });
    assert.deepEqual(
      problems.filter((p) => p.includes("ADDEC2METADATA")),
      [
        `datasets.${first.name}: dataProcessingOptions[0] (ADDEC2METADATA): "ADDEC2METADATA" is not an option tributary reproduces; use one of SINGLELINE, CSVTOJSON, LOGTOJSON, ADDMETADATA, ADDBRACKETS (ADDEC2METADATA reads the instance's metadata, which a shipper off EC2 cannot).`,
      ],
    );
  });

  it("accepts the base arguments", function () {
    const specs = BASE_ARGS.datasets.map((d) =>
      deliverySpecFor(d, BASE_ARGS.delivery, { prefix: BASE_ARGS.namePrefix }),
    );
    assert.deepEqual(platformArgsProblems(BASE_ARGS, specs), []);
  });

  it("namePrefix must be a lower-case DNS-style label", function () {
    assert.deepEqual(problemsOf({ namePrefix: "Tributary_Dev" }), [
      'namePrefix is "Tributary_Dev"; it must be lower-case letters, digits and hyphens, start with a letter and end with a letter or digit (it becomes part of S3 bucket names). Use e.g. "tributary-dev".',
    ]);
  });

  it("namePrefix must leave room for the longest bucket, function and role names", function () {
    const prefix = "tributary-a-rather-long-environment";
    assert.deepEqual(problemsOf({ namePrefix: prefix }), [
      `namePrefix is "${prefix}"; the S3 bucket name "${prefix}-access-logs-123456789012-eu-west-1" built from it is 70 characters, over the limit of 63. Shorten namePrefix to at most 28 characters.`,
    ]);
  });

  it("region must be a region code", function () {
    assert.deepEqual(problemsOf({ region: "Ireland" }), [
      'region is "Ireland"; expected an AWS region code such as "eu-west-1".',
    ]);
  });

  it("datasets must be non-empty and unique", function () {
    assert.deepEqual(problemsOf({ datasets: [] }), [
      "datasets is empty; the platform needs at least one dataset. Pass DATASETS from src/datasets.",
    ]);
    const weblogs: Dataset = datasetByName("weblogs");
    assert.deepEqual(problemsOf({ datasets: [weblogs, weblogs] }), [
      'datasets lists "weblogs" twice; each dataset gets one stream and one table. Remove the duplicate.',
    ]);
  });

  it("storage day counts must be whole days ≥ 1", function () {
    assert.deepEqual(
      problemsOf({
        storage: {
          ...BASE_ARGS.storage,
          errorObjectExpirationDays: 0,
          noncurrentVersionExpirationDays: 1.5,
          accessLogExpirationDays: -1,
          athenaResultExpirationDays: 0,
        },
      }),
      [
        "storage.errorObjectExpirationDays is 0; it must be a whole number of days, at least 1.",
        "storage.noncurrentVersionExpirationDays is 1.5; it must be a whole number of days, at least 1.",
        "storage.accessLogExpirationDays is -1; it must be a whole number of days, at least 1.",
        "storage.athenaResultExpirationDays is 0; it must be a whole number of days, at least 1.",
      ],
    );
  });

  it("storage.rawTransitionToIaDays must be at least 30 (S3's STANDARD_IA minimum)", function () {
    assert.deepEqual(problemsOf({ storage: { ...BASE_ARGS.storage, rawTransitionToIaDays: 10 } }), [
      "storage.rawTransitionToIaDays is 10; S3 moves objects to STANDARD_IA no sooner than 30 days after creation. Set a whole number of at least 30, or leave it unset.",
    ]);
  });

  it("logRetentionDays must be one CloudWatch accepts, and never 'forever'", function () {
    for (const days of [0, 10]) {
      assert.deepEqual(problemsOf({ logRetentionDays: days }), [
        `logRetentionDays is ${days}; CloudWatch Logs accepts only 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653. Choose one of those (every log group needs a retention, so "never expire" is not offered).`,
      ]);
    }
  });

  it("kms.deletionWindowDays must be 7–30", function () {
    assert.deepEqual(problemsOf({ kms: { deletionWindowDays: 45 } }), [
      "kms.deletionWindowDays is 45; KMS accepts a whole number of days from 7 to 30.",
    ]);
  });

  it("alarms.email must be an address", function () {
    assert.deepEqual(problemsOf({ alarms: { ...BASE_ARGS.alarms, email: "oncall" } }), [
      'alarms.email is "oncall"; expected one e-mail address like "oncall@example.com", or leave it unset.',
    ]);
  });

  it("alarms.freshnessThresholdSeconds must exceed the lag healthy delivery already has", function () {
    assert.deepEqual(problemsOf({ alarms: { freshnessThresholdSeconds: 90 } }), [
      "alarms.freshnessThresholdSeconds is 90; with delivery.bufferingIntervalSeconds 60, healthy delivery already lags up to 90 s (1.5× the interval), so the alarm would fire on normal traffic. Set it to at least 91.",
    ]);
    assert.deepEqual(problemsOf({ alarms: { freshnessThresholdSeconds: 0 } }), [
      "alarms.freshnessThresholdSeconds is 0; it must be a whole number of seconds, at least 1.",
    ]);
  });

  it("agent.trustedAccountIds must be account ids and come with an external id", function () {
    assert.deepEqual(problemsOf({ agent: { trustedAccountIds: ["12345"] } }), [
      'agent.trustedAccountIds[0] is "12345"; AWS account ids are 12 digits.',
      "agent.assumeRoleExternalId is not set but agent.trustedAccountIds is; hosts outside EC2 must present an external id when they assume the agent role. Set agent.assumeRoleExternalId (2–1224 characters of letters, digits and +=,.@:/-).",
    ]);
  });

  it("agent.assumeRoleExternalId must be well-formed and only come with trusted accounts", function () {
    assert.deepEqual(problemsOf({ agent: { trustedAccountIds: ["210987654321"], assumeRoleExternalId: "x" } }), [
      'agent.assumeRoleExternalId is "x"; it must be 2–1224 characters of letters, digits and +=,.@:/-.',
    ]);
    assert.deepEqual(problemsOf({ agent: { assumeRoleExternalId: "tributary-onprem" } }), [
      "agent.assumeRoleExternalId is set but agent.trustedAccountIds is empty; only hosts assuming the role from those accounts use it. Add the account ids or remove the external id.",
    ]);
  });

  it("athena.bytesScannedCutoffPerQuery must be at least Athena's 10 MB", function () {
    assert.deepEqual(problemsOf({ athena: { forceDestroy: false, bytesScannedCutoffPerQuery: 1000 } }), [
      "athena.bytesScannedCutoffPerQuery is 1000; Athena's minimum is 10000000 (10 MB). Raise it, or leave it unset for no limit.",
    ]);
  });

  it("tags may not use the aws: prefix or exceed AWS's lengths", function () {
    assert.deepEqual(problemsOf({ tags: { "aws:owner": "me", team: "x".repeat(257) } }), [
      'tags["aws:owner"]: tag keys starting with "aws:" are reserved by AWS. Rename the tag.',
      'tags["team"] is 257 characters; tag values are at most 256.',
    ]);
  });

  it("Platform throws one TributaryError listing its own problems and the delivery specs' problems", async function () {
    const { buildPlatform } = await import("./fixture");
    await assert.rejects(
      buildPlatform("invalid", {
        ...BASE_ARGS,
        datasets: [datasetByName("weblogs")],
        delivery: { ...BASE_ARGS.delivery, bufferingSizeMiB: 32 },
        kms: { deletionWindowDays: 3 },
      }),
      (err: unknown) => {
        assert.ok(err instanceof TributaryError);
        assert.equal(err.code, "TRIBUTARY_INVALID_PLATFORM_ARGS");
        assert.equal(
          err.message,
          "2 problems in the platform arguments:\n" +
            "  - kms.deletionWindowDays is 3; KMS accepts a whole number of days from 7 to 30.\n" +
            "  - weblogs: buffering.sizeMiB is 32; dynamic partitioning and Parquet conversion need 64–128 MiB. Set bufferingSizeMiB in the stack profile.",
        );
        return true;
      },
    );
  });

  it("Platform leaves spec-only problems to the spec validator's own error", async function () {
    const { buildPlatform } = await import("./fixture");
    await assert.rejects(
      buildPlatform("invalid-spec", {
        ...BASE_ARGS,
        datasets: [datasetByName("weblogs")],
        delivery: { ...BASE_ARGS.delivery, bufferingSizeMiB: 32 },
      }),
      (err: unknown) => err instanceof TributaryError && err.code === "TRIBUTARY_INVALID_DELIVERY_SPEC",
    );
  });
});
