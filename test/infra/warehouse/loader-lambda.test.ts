import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { DuckDBInstance } from "@duckdb/node-api";
import { capturingStdout } from "../../support/capture-stdout";
import { allDatasets } from "../../../src/datasets";
import { startRedshiftDataStandin, type RedshiftDataStandin } from "../../support/redshift-data-standin";
import { buildStack, DEV_WAREHOUSE, LAKE, REGION } from "./stack";
import { startSqsS3Standin, type SqsS3Standin } from "./sqs-s3-standin";

const PROJECT_ROOT = path.resolve(__dirname, "../../..");
/** Whichever dataset the catalog declares first: the loader must not care which. */
const DATASET = allDatasets()[0];
const OBJECT_KEY = `curated/${DATASET.name}/dt=2015-05-17/tributary-dev-${DATASET.name}-1.parquet`;
const OBJECT_ETAG = "9b2cf535f27731c974343645a3985328";

/** A one-row Parquet file with these top-level columns, as DuckDB writes it. */
async function parquetWithColumns(file: string, columns: readonly string[]): Promise<Buffer> {
  const instance = await DuckDBInstance.create(":memory:");
  const connection = await instance.connect();
  try {
    const select = columns.map((c) => `'x'::VARCHAR AS "${c}"`).join(", ");
    await connection.run(`COPY (SELECT ${select}) TO '${file}' (FORMAT parquet)`);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
  return fs.readFileSync(file);
}

/** What S3 sends for one Firehose PUT (keys URL-encoded, `=` as %3D). */
function s3Notification(objectSize: number): string {
  return JSON.stringify({
    Records: [
      {
        eventVersion: "2.1",
        eventSource: "aws:s3",
        awsRegion: REGION,
        eventTime: "2015-05-17T10:05:12.000Z",
        eventName: "ObjectCreated:Put",
        s3: {
          s3SchemaVersion: "1.0",
          configurationId: "load-curated-parquet",
          bucket: { name: LAKE.bucketName, arn: LAKE.bucketArn },
          object: {
            key: OBJECT_KEY.replace(/=/g, "%3D"),
            size: objectSize,
            eTag: OBJECT_ETAG,
            sequencer: "0065F2A0C1D2E3F4A5",
          },
        },
      },
    ],
  });
}

/** The scheduled event EventBridge delivers. */
const SCHEDULED_EVENT = {
  version: "0",
  id: "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
  "detail-type": "Scheduled Event",
  source: "aws.events",
  account: "123456789012",
  time: "2015-05-17T10:10:00Z",
  region: REGION,
  resources: [`arn:aws:events:${REGION}:123456789012:rule/tributary-dev-load`],
  detail: {},
};

interface ArchiveAsset {
  readonly text: Promise<string> | string;
}

describe("infra/loader: the serialized loader Lambda runs", function () {
  this.timeout(120_000);
  let redshift: RedshiftDataStandin;
  let sqsS3: SqsS3Standin;
  let codeDir: string;
  const savedEnv = { ...process.env };

  before(async () => {
    redshift = await startRedshiftDataStandin();
    sqsS3 = await startSqsS3Standin();
    codeDir = fs.mkdtempSync(path.join(os.tmpdir(), "tributary-loader-"));
  });

  after(async () => {
    for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
    Object.assign(process.env, savedEnv);
    await redshift?.close();
    await sqsS3?.close();
    if (codeDir) fs.rmSync(codeDir, { recursive: true, force: true });
  });

  it("drains the S3 notification, writes the manifest, COPYs it with the COPY role, and deletes the message", async () => {
    const stack = await buildStack(DEV_WAREHOUSE);
    const [fn] = stack.ofType("aws:lambda/function:Function");
    const code = fn.inputs.code as { assets: Promise<Record<string, ArchiveAsset>> };
    const assets = await code.assets;
    // Every project dependency is excluded: the zip is the one generated file.
    // The zip: the generated file and the one bundled package (the footer reader); every other project
    // dependency is excluded.
    assert.deepStrictEqual(Object.keys(assets).sort(), ["__index.js", "node_modules/hyparquet"]);
    const bundled = assets["node_modules/hyparquet"] as unknown as { path: Promise<string> | string };
    const bundledDir = path.resolve(PROJECT_ROOT, await bundled.path);
    const bundledPackage = JSON.parse(fs.readFileSync(path.join(bundledDir, "package.json"), "utf8")) as {
      dependencies?: Record<string, string>;
    };
    assert.deepStrictEqual(bundledPackage.dependencies ?? {}, {}, "the bundled package must need nothing else");
    const source = await assets["__index.js"].text;
    const required = [...source.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]).sort();
    // Only what the nodejs22.x runtime provides (Node built-ins and the AWS SDK v3) and the zip carries.
    assert.deepStrictEqual(required, [
      "@aws-sdk/client-redshift-data/dist-cjs/index.js",
      "@aws-sdk/client-s3/dist-cjs/index.js",
      "@aws-sdk/client-sqs/dist-cjs/index.js",
      "crypto",
      "hyparquet",
    ]);
    fs.writeFileSync(path.join(codeDir, "__index.js"), source);
    // node_modules as the function sees it: the zip's copy of the bundled package, and the runtime's SDK
    // played by the project's other packages.
    const modules = path.join(codeDir, "node_modules");
    fs.mkdirSync(modules);
    fs.cpSync(bundledDir, path.join(modules, "hyparquet"), { recursive: true });
    for (const entry of fs.readdirSync(path.join(PROJECT_ROOT, "node_modules"))) {
      if (entry === "hyparquet" || entry === ".bin") continue;
      fs.symlinkSync(path.join(PROJECT_ROOT, "node_modules", entry), path.join(modules, entry));
    }

    // The curated file, written before the dataset's last column was added: its COPY must name only
    // the columns the file has (COPY … FORMAT AS PARQUET matches by position and count).
    const declared = DATASET.columns.map((c) => c.name);
    const fileColumns = declared.slice(0, -1);
    const parquet = await parquetWithColumns(path.join(codeDir, "older.parquet"), fileColumns);
    sqsS3.putObject(`${LAKE.bucketName}/${OBJECT_KEY}`, parquet);

    const environment = (fn.inputs.environment as { variables: Record<string, string> }).variables;
    Object.assign(process.env, environment, {
      AWS_REGION: REGION,
      AWS_ACCESS_KEY_ID: "AKIDSTANDIN",
      AWS_SECRET_ACCESS_KEY: "standin-secret",
      AWS_ENDPOINT_URL_SQS: sqsS3.endpoint,
      AWS_ENDPOINT_URL_S3: sqsS3.endpoint,
      AWS_ENDPOINT_URL_REDSHIFT_DATA: redshift.endpoint,
    });
    delete process.env.AWS_SESSION_TOKEN;
    delete process.env.AWS_PROFILE;
    const message = sqsS3.enqueue(s3Notification(parquet.length));

    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const lambda = require(path.join(codeDir, "__index.js")) as {
      handler: (event: unknown, context: unknown) => Promise<Record<string, unknown>>;
    };
    // stdout captured: the loader's metrics are EMF lines written there.
    const { result: report, written } = await capturingStdout(() =>
      lambda.handler(SCHEDULED_EVENT, {
        functionName: "tributary-dev-loader",
        awsRequestId: "req-1",
        getRemainingTimeInMillis: () => 240_000,
      }),
    );
    const emf = written
      .flatMap((chunk) => chunk.split("\n"))
      .filter((line) => line.includes('"_aws"'))
      .map((line) => JSON.parse(line) as Record<string, unknown> & { _aws: { CloudWatchMetrics: unknown[] } });
    assert.deepStrictEqual(
      emf.map((d) => {
        const { _aws, ...rest } = d;
        return { directive: _aws.CloudWatchMetrics, ...rest };
      }),
      [
        {
          directive: [
            {
              Namespace: "Tributary/Loader",
              Dimensions: [["FunctionName"]],
              Metrics: ["Runs", "DatasetsLoaded", "LoadFailures", "ObjectsLoaded", "ObjectsFailed"].map((Name) => ({
                Name,
                Unit: "Count",
              })),
            },
          ],
          FunctionName: "tributary-dev-loader",
          Runs: 1,
          DatasetsLoaded: 1,
          LoadFailures: 0,
          ObjectsLoaded: 1,
          ObjectsFailed: 0,
        },
        {
          directive: [
            {
              Namespace: "Tributary/Loader",
              Dimensions: [["FunctionName", "Dataset"]],
              Metrics: [
                { Name: "ObjectsLoaded", Unit: "Count" },
                { Name: "ObjectsFailed", Unit: "Count" },
              ],
            },
          ],
          FunctionName: "tributary-dev-loader",
          Dataset: DATASET.name,
          ObjectsLoaded: 1,
          ObjectsFailed: 0,
        },
      ],
    );

    // The manifest: one entry, with the size Parquet COPY needs.
    assert.strictEqual(sqsS3.objects.size, 1);
    const [[manifestPath, manifestBody]] = [...sqsS3.objects];
    const manifestKey = manifestPath.slice(LAKE.bucketName.length + 1);
    assert.strictEqual(manifestPath.slice(0, LAKE.bucketName.length + 1), `${LAKE.bucketName}/`);
    assert.match(manifestKey, new RegExp(`^manifests/load-[0-9a-f]{16}/${DATASET.name}\\.manifest$`));
    assert.deepStrictEqual(JSON.parse(manifestBody), {
      entries: [
        { url: `s3://${LAKE.bucketName}/${OBJECT_KEY}`, mandatory: true, meta: { content_length: parquet.length } },
      ],
    });

    // The COPY, in the same batch (transaction) as the ledger insert.
    const copyRoleArn = environment.TRIBUTARY_COPY_ROLE_ARN;
    assert.strictEqual(copyRoleArn, "arn:aws:iam::123456789012:role/tributary-dev-redshift-copy");
    const batches = redshift.requests.filter((r) => r.operation === "BatchExecuteStatement");
    const load = batches.find((b) => (b.body.Sqls as string[]).some((sql) => sql.startsWith("COPY ")));
    assert.ok(load, "no BatchExecuteStatement with a COPY");
    const sqls = load.body.Sqls as string[];
    assert.deepStrictEqual(
      sqls.filter((sql) => sql.startsWith("COPY ")),
      [
        `COPY staging.${DATASET.name} (${fileColumns.join(", ")}) FROM 's3://${LAKE.bucketName}/${manifestKey}' IAM_ROLE '${copyRoleArn}' FORMAT AS PARQUET MANIFEST`,
      ],
    );
    assert.ok(
      sqls.some(
        (sql) =>
          sql.startsWith("INSERT INTO tributary.load_ledger") &&
          sql.includes(`'${OBJECT_KEY}'`) &&
          sql.includes(`'${OBJECT_ETAG}'`),
      ),
      "the ledger insert for the object is not in the COPY's transaction",
    );

    // The columns came from the footer alone: ranged GETs of the one object, never a whole-object read.
    assert.ok(sqsS3.getRequests.length >= 1);
    for (const get of sqsS3.getRequests) {
      assert.strictEqual(get.path, `${LAKE.bucketName}/${OBJECT_KEY}`);
      assert.match(get.range ?? "", /^bytes=\d+-\d+$/);
    }

    // Every submission authenticated the same way: this workgroup, this database, the admin secret.
    const submissions = redshift.requests.filter(
      (r) => r.operation === "ExecuteStatement" || r.operation === "BatchExecuteStatement",
    );
    assert.ok(submissions.length >= 3);
    for (const s of submissions) {
      assert.deepStrictEqual(
        { WorkgroupName: s.body.WorkgroupName, Database: s.body.Database, SecretArn: s.body.SecretArn },
        {
          WorkgroupName: "tributary-dev",
          Database: "tributary",
          SecretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:redshift!tributary-dev-admin-AbCdEf",
        },
      );
    }

    // Acknowledged only after the load committed: the message is gone from the queue.
    assert.deepStrictEqual(sqsS3.deletedReceiptHandles, [message.receiptHandle]);
    assert.deepStrictEqual(sqsS3.inFlight, []);
    assert.deepStrictEqual(sqsS3.visible, []);
    assert.strictEqual(
      sqsS3.sqsRequests[0].body.QueueUrl,
      "https://sqs.eu-west-1.amazonaws.com/123456789012/tributary-dev-load",
    );
    assert.strictEqual(report.received, 1);
    assert.strictEqual(report.deleted, 1);
    assert.deepStrictEqual(
      (report.loaded as { dataset: string; objects: number }[]).map((l) => ({
        dataset: l.dataset,
        objects: l.objects,
      })),
      [{ dataset: DATASET.name, objects: 1 }],
    );
  });
});
