import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Readable } from "stream";
import { REFERENCE_MS_METADATA, s3ClientFor, s3ObjectStore } from "../../src/shipper/upload";
import { transformRecord } from "../../src/transform/records";
import { FirehoseStandIn } from "../support/firehose-standin";
import { allRegistered, installPulumiMocks, resetRecordedResources, resourcesOfType } from "../support/pulumi-mocks";
import type { RecordedResource } from "../support/pulumi-mocks";
import { S3StandIn } from "../support/s3-standin";
import { applianceCatalog, applianceLines } from "../replay/fixtures";

/**
 * Proves the replay Lambda really runs (issue 9 item 2): the CallbackFunction's serialized code is
 * written to a folder, loaded with plain `require`, and invoked with a real S3 ObjectCreated event for a
 * file `upload` stored (through the real S3 client, metadata and all) against loopback S3 and Firehose
 * stand-ins. The dataset is declared by the test.
 */
const PROJECT_ROOT = path.resolve(__dirname, "../..");
const BUCKET = "tributary-test-lake-123456789012-eu-west-1";
const REGION = "eu-west-1";
const STREAM = "tributary-test-appliance_auth";
const REFERENCE_MS = Date.UTC(2003, 5, 1);

type Handler = (event: unknown, context: unknown) => Promise<{ objects: Array<Record<string, unknown>> }>;

function objectCreated(key: string, size: number): unknown {
  return {
    Records: [
      {
        eventVersion: "2.1",
        eventSource: "aws:s3",
        awsRegion: REGION,
        eventTime: "2026-11-28T10:05:12.000Z",
        eventName: "ObjectCreated:CompleteMultipartUpload",
        s3: {
          s3SchemaVersion: "1.0",
          configurationId: "replay-appliance_auth",
          bucket: { name: BUCKET, arn: `arn:aws:s3:::${BUCKET}` },
          // S3 URL-encodes keys in events, spaces as "+".
          object: {
            key: key.split("/").map(encodeURIComponent).join("/").replace(/%20/g, "+"),
            size,
            eTag: "x",
            sequencer: "1",
          },
        },
      },
    ],
  };
}

describe("infra/replay: the serialized replay Lambda runs", function () {
  this.timeout(120_000);
  const { dataset, stats } = applianceCatalog();
  let s3: S3StandIn;
  let firehose: FirehoseStandIn;
  let codeDir: string;
  let fn: RecordedResource;
  let lambda: Handler;
  const savedEnv = { ...process.env };

  before(async () => {
    s3 = await S3StandIn.start();
    firehose = await FirehoseStandIn.start();
    codeDir = fs.mkdtempSync(path.join(os.tmpdir(), "tributary-replay-lambda-"));
    await installPulumiMocks();
    resetRecordedResources();
    const { Replay } = await import("../../infra/replay");
    new Replay("replay", {
      namePrefix: "tributary-test",
      account: { partition: "aws", accountId: "123456789012", region: REGION },
      datasets: [dataset, stats],
      streams: Object.fromEntries(
        [dataset, stats].map((d) => [
          d.name,
          {
            name: `tributary-test-${d.name}`,
            arn: `arn:aws:firehose:${REGION}:123456789012:deliverystream/tributary-test-${d.name}`,
          },
        ]),
      ),
      lake: {
        bucketName: BUCKET,
        bucketArn: `arn:aws:s3:::${BUCKET}`,
        keyArn: `arn:aws:kms:${REGION}:123456789012:key/lake`,
      },
      logRetentionDays: 14,
      logKeyArn: `arn:aws:kms:${REGION}:123456789012:key/lake`,
      alarmTopicArn: `arn:aws:sns:${REGION}:123456789012:alarms`,
      tags: {},
    });
    await allRegistered();
    [fn] = resourcesOfType("aws:lambda/function:Function");
    const assets = await (
      fn.inputs.code as { assets: Promise<Record<string, { text: Promise<string> | string; path?: string }>> }
    ).assets;
    assert.deepEqual(Object.keys(assets).sort(), ["__index.js", "node_modules/csv-parse"]);
    const source = await assets["__index.js"].text;
    const required = [...source.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]).sort();
    // Only what the nodejs22.x runtime provides (Node built-ins, the AWS SDK v3) and the zip carries.
    assert.deepEqual(required, [
      "@aws-sdk/client-firehose/dist-cjs/index.js",
      "@aws-sdk/client-s3/dist-cjs/index.js",
      "buffer",
      "csv-parse/sync",
    ]);
    fs.writeFileSync(path.join(codeDir, "__index.js"), source);
    const modules = path.join(codeDir, "node_modules");
    fs.mkdirSync(modules);
    for (const entry of fs.readdirSync(path.join(PROJECT_ROOT, "node_modules"))) {
      if (entry !== ".bin") fs.symlinkSync(path.join(PROJECT_ROOT, "node_modules", entry), path.join(modules, entry));
    }
    const environment = (fn.inputs.environment as { variables: Record<string, string> }).variables;
    Object.assign(process.env, environment, {
      AWS_REGION: REGION,
      AWS_ACCESS_KEY_ID: "AKIDSTANDIN",
      AWS_SECRET_ACCESS_KEY: "standin-secret",
      AWS_ENDPOINT_URL_S3: s3.endpoint,
      AWS_ENDPOINT_URL_FIREHOSE: firehose.endpoint,
    });
    delete process.env.AWS_SESSION_TOKEN;
    delete process.env.AWS_PROFILE;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    lambda = (require(path.join(codeDir, "__index.js")) as { handler: Handler }).handler;
  });

  after(async () => {
    for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
    Object.assign(process.env, savedEnv);
    await s3?.close();
    await firehose?.close();
    if (codeDir) fs.rmSync(codeDir, { recursive: true, force: true });
  });

  /** Stores a file as `tributary upload` does: the real S3 client, sha256 and reference time in metadata. */
  async function upload(key: string, text: string): Promise<number> {
    const client = s3ClientFor({ endpoint: s3.endpoint, region: REGION });
    const body = Buffer.from(text);
    await s3ObjectStore(client, BUCKET).put(key, Readable.from([body]), body.length, "sha", {
      [REFERENCE_MS_METADATA]: String(REFERENCE_MS),
    });
    client.destroy();
    return body.length;
  }

  it("an S3 event for raw/<dataset>/files/… sends its lines to the dataset's stream, once, and checkpoints", async () => {
    const key = "raw/appliance_auth/files/export 1/auth-1.log";
    const lines = applianceLines(12);
    const size = await upload(key, lines.join("\n") + "\n");
    const context = { functionName: "tributary-test-replay", getRemainingTimeInMillis: () => 900_000 };
    const report = await lambda(objectCreated(key, size), context);
    assert.deepEqual(
      report.objects.map((o) => [o.key, o.status, o.linesSent]),
      [[key, "done", 12]],
    );

    // The exact PutRecordBatch request: one call, one packed record to the dataset's stream, holding
    // the agent chain's JSON of every line with the reference time `upload` stored.
    assert.equal(firehose.stats.calls, 1);
    assert.deepEqual(
      firehose.records.map((r) => r.stream),
      [STREAM],
    );
    const expected = lines.map((line, i) => {
      const t = line.slice(0, 15);
      return JSON.stringify({
        _tributary_reference_ms: REFERENCE_MS,
        timestamp: t,
        hostname: "fw-1",
        program: "sshd",
        processid: String(100 + (i % 7)),
        message: `login ${i} accepted`,
      });
    });
    assert.equal(firehose.records[0].data.toString("utf8"), expected.join("\n") + "\n");
    // What the stream's transform makes of it: the year of the file, not of the replay.
    const first = transformRecord(dataset.transform!, JSON.parse(expected[0]), { arrivalMs: Date.now() });
    assert.deepEqual(first.ok && first.record.logged_at, "2003-03-01 00:00:00");

    // The checkpoint: written under replay/, and a second delivery of the same event sends nothing.
    const checkpoint = JSON.parse(s3.objects.get(`${BUCKET}/replay/${key}.json`)!.body.toString("utf8")) as Record<
      string,
      unknown
    >;
    assert.deepEqual([checkpoint.done, checkpoint.offset], [true, size]);
    const again = await lambda(objectCreated(key, size), context);
    assert.deepEqual(
      again.objects.map((o) => o.status),
      ["already-done"],
    );
    assert.equal(firehose.stats.calls, 1);
  });

  it("out of time: checkpoints, fails the attempt, and the retry resumes with a ranged GET, no line twice", async () => {
    const key = "raw/appliance_auth/files/auth-big.log";
    const lines = applianceLines(6000, "fw-9");
    const size = await upload(key, lines.join("\n") + "\n");
    const before = firehose.lines(STREAM).length;
    let calls = 0;
    // The first attempt has time for a few reads only.
    const short = { functionName: "f", getRemainingTimeInMillis: () => (++calls <= 3 ? 900_000 : 1_000) };
    await assert.rejects(lambda(objectCreated(key, size), short), (err: Error & { code?: string }) => {
      assert.equal(err.code, "TRIBUTARY_REPLAY_CONTINUES");
      return true;
    });
    const checkpoint = JSON.parse(s3.objects.get(`${BUCKET}/replay/${key}.json`)!.body.toString("utf8")) as {
      offset: number;
      done: boolean;
    };
    assert.ok(!checkpoint.done && checkpoint.offset > 0 && checkpoint.offset < size, JSON.stringify(checkpoint));
    const retry = await lambda(objectCreated(key, size), {
      functionName: "f",
      getRemainingTimeInMillis: () => 900_000,
    });
    assert.deepEqual(
      retry.objects.map((o) => o.status),
      ["done"],
    );
    assert.deepEqual(
      s3.ranges.filter((r) => r.key === key).map((r) => r.range),
      [`bytes=${checkpoint.offset}-`],
    );
    const sent = firehose
      .lines(STREAM)
      .slice(before)
      .map((l) => Number(/login (\d+)/.exec((JSON.parse(l) as { message: string }).message)?.[1]));
    assert.deepEqual(
      sent.sort((a, b) => a - b),
      lines.map((_, i) => i),
    );
  });
});
