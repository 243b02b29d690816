import { strict as assert } from "assert";
import { sourceBackupErrorPrefix, sourceBackupPrefix } from "../../src/spec/names";
import { BASE_ARGS, basePlatform, buildPlatform, parsed, type BuiltPlatform } from "./fixture";

/**
 * Two plan-level promises of the issue "data that changes": a schema evolution updates the Glue table
 * and the stream in place (the inputs that force a replacement do not change), and every stream backs
 * up its source records under raw/<dataset>/firehose/, encrypted, with a lifecycle from the profile.
 */

/**
 * Inputs whose change makes the AWS provider replace the resource (pulumi-aws / Terraform docs:
 * "Changing this forces a new resource"): a Glue table's name, database and catalog; a stream's name,
 * destination, and its dynamic partitioning switch (Firehose only sets it at creation).
 */
const REPLACING = {
  table: ["name", "databaseName", "catalogId"],
  stream: ["name", "destination"],
};

interface Stream {
  extendedS3Configuration: {
    dynamicPartitioningConfiguration: { enabled: boolean };
    s3BackupMode?: string;
    s3BackupConfiguration?: {
      prefix: string;
      errorOutputPrefix: string;
      kmsKeyArn: string;
      compressionFormat: string;
      roleArn: string;
    };
  };
}

describe("infra: schema evolution is an in-place update", function () {
  this.timeout(120_000);
  let base: BuiltPlatform;
  let evolved: BuiltPlatform;
  const [first] = BASE_ARGS.datasets;

  before(async () => {
    base = await basePlatform();
    // The first dataset gains a nullable column; any int column is widened to bigint.
    const changed = {
      ...first,
      columns: [
        ...first.columns.map((c) => (c.type === "int" ? { ...c, type: "bigint" as const } : c)),
        { name: "added_later", type: "string" as const, comment: "added by a schema evolution" },
      ],
    };
    evolved = await buildPlatform("tributary-evolved", {
      ...BASE_ARGS,
      datasets: BASE_ARGS.datasets.map((d) => (d === first ? changed : d)),
    });
  });

  it("the Glue table gets the new column with every replacing input unchanged", () => {
    const before = base.named(`tributary-catalog-${first.name}`);
    const after = evolved.named(`tributary-evolved-catalog-${first.name}`);
    for (const key of REPLACING.table) assert.deepEqual(after.inputs[key], before.inputs[key], key);
    const columns = (r: typeof before) =>
      (r.inputs.storageDescriptor as { columns: { name: string }[] }).columns.map((c) => c.name);
    assert.deepEqual(columns(after), [...columns(before), "added_later"]);
  });

  it("the stream keeps its name, destination and dynamic partitioning switch", () => {
    const before = base.named(`tributary-${first.name}-stream`);
    const after = evolved.named(`tributary-evolved-${first.name}-stream`);
    for (const key of REPLACING.stream) assert.deepEqual(after.inputs[key], before.inputs[key], key);
    const dp = (r: typeof before) =>
      (r.inputs as unknown as Stream).extendedS3Configuration.dynamicPartitioningConfiguration.enabled;
    assert.equal(dp(after), dp(before));
  });
});

describe("infra: source-record backup", function () {
  this.timeout(120_000);
  let built: BuiltPlatform;
  before(async () => {
    built = await basePlatform();
  });

  it("every stream backs up its source records under raw/<dataset>/firehose/, GZIP, with the lake key", () => {
    const key = built.ofType("aws:kms/key:Key").length;
    assert.ok(key > 0);
    for (const dataset of BASE_ARGS.datasets) {
      const stream = built.named(`tributary-${dataset.name}-stream`).inputs as unknown as Stream;
      const s3 = stream.extendedS3Configuration;
      assert.equal(s3.s3BackupMode, "Enabled", dataset.name);
      assert.equal(s3.s3BackupConfiguration?.prefix, sourceBackupPrefix(dataset));
      assert.match(s3.s3BackupConfiguration!.prefix, new RegExp(`^raw/${dataset.name}/firehose/`));
      // Firehose refuses an error prefix with expressions but without the error-output type.
      assert.match(s3.s3BackupConfiguration!.errorOutputPrefix, /!\{firehose:error-output-type\}/);
      assert.equal(s3.s3BackupConfiguration?.errorOutputPrefix, sourceBackupErrorPrefix(dataset));
      assert.equal(s3.s3BackupConfiguration?.compressionFormat, "GZIP");
      assert.ok(s3.s3BackupConfiguration?.kmsKeyArn, `${dataset.name}: backup not encrypted with the lake key`);
    }
  });

  it("the stream's role may write its backup folders and nothing else under raw/", () => {
    for (const dataset of BASE_ARGS.datasets) {
      const policy = parsed<{ Statement: { Action: string | string[]; Resource: string | string[] }[] }>(
        built.named(`tributary-${dataset.name}-role-policy`),
        "policy",
      );
      const resources = policy.Statement.flatMap((s) => (typeof s.Resource === "string" ? [s.Resource] : s.Resource));
      const raw = resources.filter((r) => r.includes(":::") && r.includes("/raw/"));
      assert.deepEqual(
        raw.map((r) => r.slice(r.indexOf("/raw/") + 1)).sort(),
        [`raw/${dataset.name}/firehose-errors/*`, `raw/${dataset.name}/firehose/*`],
        dataset.name,
      );
    }
  });

  it("each dataset's backup expires after the profile's days", () => {
    const lifecycle = built
      .ofType("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
      .find((r) => r.name.endsWith("-lake-lifecycle"))!;
    const rules = lifecycle.inputs.rules as { id: string; filter: { prefix: string }; expiration?: { days: number } }[];
    for (const dataset of BASE_ARGS.datasets) {
      const rule = rules.find((r) => r.filter.prefix === `raw/${dataset.name}/firehose`);
      assert.ok(rule, `${dataset.name}: no lifecycle rule for its source-record backup`);
      assert.equal(rule.expiration?.days, 30);
    }
  });
});
