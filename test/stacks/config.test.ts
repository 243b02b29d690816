import { strict as assert } from "assert";
import { loadStackConfig } from "../../stacks/config";
import { dev, prod } from "../../stacks/profiles";

const CATALOG = ["covidx_ct", "syslog", "weblogs"];

const problemsOf = (raw: Record<string, string>, stack = "dev"): string => {
  try {
    loadStackConfig(stack, raw, CATALOG);
  } catch (err) {
    assert.equal((err as { code?: string }).code, "TRIBUTARY_INVALID_STACK_CONFIG");
    return (err as Error).message;
  }
  return "";
};

describe("stack config", () => {
  it("a profile and a region are enough; names derive from the stack", () => {
    const config = loadStackConfig("staging", { "aws:region": "us-west-2", "tributary:profile": "prod" }, CATALOG);
    assert.equal(config.namePrefix, "tributary-staging");
    assert.equal(config.profile, prod);
    assert.equal(config.region, "us-west-2");
    assert.deepEqual(config.agentTrustedAccountIds, []);
  });

  it("overrides replace single values and keep the rest of the profile", () => {
    const config = loadStackConfig(
      "dev",
      {
        "aws:region": "eu-west-1",
        "tributary:profile": "dev",
        "tributary:overrides": JSON.stringify({ delivery: { bufferingIntervalSeconds: 120 }, logRetentionDays: 30 }),
      },
      CATALOG,
    );
    assert.equal(config.profile.delivery.bufferingIntervalSeconds, 120);
    assert.equal(config.profile.delivery.bufferingSizeMiB, dev.delivery.bufferingSizeMiB);
    assert.equal(config.profile.logRetentionDays, 30);
    assert.equal(dev.delivery.bufferingIntervalSeconds, 60, "the profile itself is not mutated");
  });

  it("reports every problem at once, naming the key", () => {
    const message = problemsOf({
      "tributary:profile": "qa",
      "tributary:alarmEmail": "oncall",
      "tributary:bufferSize": "64",
      "tributary:overrides": JSON.stringify({ delivery: { bufferingSize: 64, bufferingIntervalSeconds: "60" } }),
      "tributary:agentTrustedAccountIds": JSON.stringify(["12345"]),
    });
    assert.equal(
      message,
      'Stack "dev" has 8 configuration problems (Pulumi.dev.yaml):\n' +
        "  - tributary:bufferSize is not a Tributary setting. Known keys: tributary:profile, tributary:namePrefix, tributary:alarmEmail, tributary:agentTrustedAccountIds, tributary:datasets, tributary:warehouse, tributary:agentAssumeRoleExternalId, tributary:overrides.\n" +
        '  - tributary:profile is "qa"; use one of dev, prod.\n' +
        "  - tributary:overrides.delivery.bufferingSize is not a setting. Settings here: bufferingSizeMiB, bufferingIntervalSeconds, retryDurationSeconds, parquetCompression, parquetBlockSizeMiB, lambdaProcessor, agent.\n" +
        '  - tributary:overrides.delivery.bufferingIntervalSeconds must be a number like 60 (got "60").\n' +
        "  - aws:region is not set. Set it with `pulumi config set aws:region <region>` (e.g. eu-west-1).\n" +
        '  - tributary:alarmEmail is "oncall"; use an e-mail address, or remove the key for no subscription.\n' +
        '  - tributary:agentTrustedAccountIds is ["12345"]; use a list of 12-digit AWS account ids.\n' +
        "  - tributary:agentTrustedAccountIds is set but tributary:agentAssumeRoleExternalId is not; hosts outside EC2 present it when they assume the agent role (agent.json carries it). Set one with `pulumi config set tributary:agentAssumeRoleExternalId <2–1224 letters, digits and +=,.@:/->`.",
    );
  });

  it("trusted agent accounts come with an external id, each key naming the other", () => {
    const base = { "aws:region": "eu-west-1", "tributary:profile": "dev" };
    const config = loadStackConfig(
      "dev",
      {
        ...base,
        "tributary:agentTrustedAccountIds": JSON.stringify(["210987654321"]),
        "tributary:agentAssumeRoleExternalId": "tributary-onprem",
      },
      CATALOG,
    );
    assert.deepEqual(config.agentTrustedAccountIds, ["210987654321"]);
    assert.equal(config.agentAssumeRoleExternalId, "tributary-onprem");
    assert.equal(
      problemsOf({ ...base, "tributary:agentTrustedAccountIds": JSON.stringify(["210987654321"]) }),
      'Stack "dev" has 1 configuration problem (Pulumi.dev.yaml):\n  - tributary:agentTrustedAccountIds is set but tributary:agentAssumeRoleExternalId is not; hosts outside EC2 present it when they assume the agent role (agent.json carries it). Set one with `pulumi config set tributary:agentAssumeRoleExternalId <2–1224 letters, digits and +=,.@:/->`.',
    );
    assert.equal(
      problemsOf({ ...base, "tributary:agentAssumeRoleExternalId": "tributary-onprem" }),
      'Stack "dev" has 1 configuration problem (Pulumi.dev.yaml):\n  - tributary:agentAssumeRoleExternalId is set but tributary:agentTrustedAccountIds is not; only hosts assuming the role from those accounts use it. Add the account ids or remove the key.',
    );
  });

  it("a missing profile says how to set one", () => {
    assert.equal(
      problemsOf({ "aws:region": "eu-west-1" }),
      'Stack "dev" has 1 configuration problem (Pulumi.dev.yaml):\n  - tributary:profile is not set. Choose one with `pulumi config set tributary:profile dev|prod`.',
    );
  });

  it("a name prefix AWS resource names cannot carry", () => {
    assert.match(
      problemsOf({ "aws:region": "eu-west-1", "tributary:profile": "dev", "tributary:namePrefix": "Tributary_Dev" }),
      /tributary:namePrefix is "Tributary_Dev"; use 2–31 lower-case letters, digits and hyphens/,
    );
  });

  it("dev and prod differ as data: buffering, retention, destroyability", () => {
    assert.deepEqual(
      [
        dev.delivery.bufferingSizeMiB,
        dev.delivery.bufferingIntervalSeconds,
        dev.storage.forceDestroy,
        dev.logRetentionDays,
      ],
      [64, 60, true, 14],
    );
    assert.deepEqual(
      [
        prod.delivery.bufferingSizeMiB,
        prod.delivery.bufferingIntervalSeconds,
        prod.storage.forceDestroy,
        prod.logRetentionDays,
      ],
      [128, 900, false, 365],
    );
  });
});

describe("stack config: settings with a closed set of values", () => {
  it("names a wrong value once, with its key and the values it may take", () => {
    const message = problemsOf({
      "aws:region": "eu-west-1",
      "tributary:profile": "dev",
      "tributary:overrides": JSON.stringify({
        delivery: { agent: { initialPosition: "BEGIN" }, parquetCompression: "ZSTD" },
        warehouse: { kind: "serverles" },
      }),
    });
    assert.ok(
      message.includes(
        'tributary:overrides.delivery.agent.initialPosition is "BEGIN"; use one of START_OF_FILE, END_OF_FILE.',
      ),
      message,
    );
    assert.ok(
      message.includes(
        'tributary:overrides.delivery.parquetCompression is "ZSTD"; use one of SNAPPY, GZIP, UNCOMPRESSED.',
      ),
      message,
    );
    assert.ok(
      message.includes(
        'tributary:overrides.warehouse.kind is "serverles"; use one of serverless, provisioned (did you mean "serverless"?).',
      ),
      message,
    );
  });
});
