import { strict as assert } from "node:assert";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PutRecordBatchCommand } from "@aws-sdk/client-firehose";
import { DeleteMessageCommand, ReceiveMessageCommand, SendMessageCommand, type Message } from "@aws-sdk/client-sqs";
import { DuckDBInstance } from "@duckdb/node-api";
import { lineProcessorFor } from "../../src/agent/processing";
import { EXIT_OBJECTS_SKIPPED, runRedrive } from "../../src/cli/redrive";
import { allDatasets, type Dataset } from "../../src/datasets";
import { sampleArrivalMs, sampleFileName, sampleLines } from "../../src/datasets/samples";
import { errorDocument, type ErrorOutputType } from "../../src/local/delivery/errors";
import { localStackSettings, startOfflineLake } from "../../src/local/lake";
import { redriveDeadLetterQueue, type SqsPort } from "../../src/redrive/dlq";
import { decodeErrorObject, redrivenKey } from "../../src/redrive/redrive";
import { firehoseClientFor } from "../../src/shipper/firehose";
import type { PulumiPort } from "../../src/shipper/stream-name";
import { deliverySpecFor } from "../../src/spec";
import { OFFLINE_LAKE_BUCKET } from "../../src/spec/names";
import { FirehoseStandIn } from "../support/firehose-standin";
import { keysUnder, redriveJson as redriveAnyJson } from "./support";
import { errorDocuments } from "../support/lake-errors";
import { S3StandIn } from "../support/s3-standin";

const DATASETS = allDatasets();

/** The JSON records the shipper sends for a dataset's sample lines (what a producer sent). */
function producerRecords(dataset: Dataset): string[] {
  const process = lineProcessorFor(dataset, sampleFileName(dataset));
  return sampleLines(dataset)
    .slice(dataset.source.skipHeaderLines ?? 0)
    .map((line) => process(line))
    .flatMap((r) => (r.ok ? [r.json] : []));
}

/** One error object as Firehose writes it: one error document per record, its bytes in rawData. */
function errorObjectText(dataset: Dataset, type: ErrorOutputType, records: readonly string[]): string {
  const spec = deliverySpecFor(dataset, localStackSettings("dev").settings, { prefix: "tributary-dev" });
  return records
    .map((record, i) =>
      JSON.stringify(
        errorDocument(
          {
            type,
            errorCode: "Lambda.ProcessingFailedStatus",
            errorMessage: "rejected by the transform of the time",
            rawData: Buffer.from(`${record}\n`, "utf8"),
            arrivalMs: sampleArrivalMs(dataset),
          },
          { spec, region: "us-east-1", databaseName: "tributary_dev", endingMs: Date.now(), sequence: i },
        ),
      ),
    )
    .join("\n");
}

async function writeObject(bucketDir: string, key: string, text: string, mtime?: Date): Promise<void> {
  const file = path.join(bucketDir, key);
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, `${text}\n`);
  if (mtime) await fs.utimes(file, mtime, mtime);
}

async function parquetRows(bucketDir: string, dataset: string): Promise<number> {
  const glob = path.join(bucketDir, "curated", dataset, "**", "*.parquet");
  const db = await DuckDBInstance.create(":memory:");
  const sql = await db.connect();
  try {
    const files = await sql.runAndReadAll(`SELECT COUNT(*) FROM glob('${glob}')`);
    if (Number(files.getRows()[0][0]) === 0) return 0;
    return Number((await sql.runAndReadAll(`SELECT COUNT(*) FROM read_parquet('${glob}')`)).getRows()[0][0]);
  } finally {
    sql.closeSync();
    db.closeSync();
  }
}

/** `redrive --json` of the error output. */
const redriveJson = (args: Parameters<typeof runRedrive>[0], pulumi?: PulumiPort) =>
  redriveAnyJson<{ moved: number; lines: number; skipped: number; calls: number }>(args, pulumi);

describe("tributary redrive", function () {
  this.timeout(120_000);
  let dir: string;
  beforeEach(async () => (dir = await fs.mkdtemp(path.join(os.tmpdir(), "tributary-redrive-"))));
  afterEach(async () => fs.rm(dir, { recursive: true, force: true }));
  const bucketDir = () => path.join(dir, "s3", OFFLINE_LAKE_BUCKET);

  it("--local brings every dataset's failed records into Parquet exactly once; a second run sends nothing", async () => {
    for (const dataset of DATASETS) {
      const records = producerRecords(dataset);
      assert.ok(records.length > 0, `${dataset.name}: its samples give no record`);
      const key = `errors/${dataset.name}/processing-failed/2026/11/28/tributary-dev-${dataset.name}-1-2026-11-28-10-00-00-a`;
      await writeObject(bucketDir(), key, errorObjectText(dataset, "processing-failed", records));

      const first = await redriveJson({ dataset: dataset.name, local: true, dir });
      assert.equal(first.code, 0, dataset.name);
      assert.equal(first.report.moved, 1, dataset.name);
      assert.equal(first.report.lines, records.length, dataset.name);
      assert.equal(await parquetRows(bucketDir(), dataset.name), records.length, dataset.name);
      assert.deepEqual(await errorDocuments({ bucketDir: bucketDir() }, dataset.name), [], dataset.name);
      assert.deepEqual(await keysUnder(path.join(bucketDir(), "redriven", dataset.name)), [
        redrivenKey(key).slice(`redriven/${dataset.name}/`.length),
      ]);

      const second = await redriveJson({ dataset: dataset.name, local: true, dir });
      assert.deepEqual([second.code, second.report.moved, second.report.calls], [0, 0, 0], dataset.name);
      assert.equal(await parquetRows(bucketDir(), dataset.name), records.length, dataset.name);
    }
  });

  it("re-drives a real transform failure byte for byte; --type and --since choose the objects", async () => {
    const dataset = DATASETS.find((d) => d.transform !== undefined) ?? DATASETS[0];
    const bad = [1, 2, 3].map((n) => `{"not_a_field_of_the_dataset":${n},"text":"caf\u00e9 \u2603"}`);
    const lake = await startOfflineLake({ dir, datasets: [dataset] });
    const client = firehoseClientFor({ endpoint: lake.url, maxAttempts: 1 });
    try {
      await client.send(
        new PutRecordBatchCommand({
          DeliveryStreamName: lake.specs[0].streamName,
          Records: bad.map((r) => ({ Data: Buffer.from(`${r}\n`) })),
        }),
      );
      await lake.flush();
    } finally {
      client.destroy();
      await lake.close();
    }
    const failed = await errorDocuments({ bucketDir: bucketDir() }, dataset.name);
    assert.equal(failed.length, 3);
    assert.ok(failed.every((f) => f.type === "processing-failed"));
    const originalKeys = await keysUnder(path.join(bucketDir(), "errors"));

    // A format-conversion-failed object written an hour ago: the other type, and older than --since.
    const hourAgo = new Date(Date.now() - 3_600_000);
    const conversionKey = `errors/${dataset.name}/format-conversion-failed/2026/11/28/old`;
    await writeObject(bucketDir(), conversionKey, errorObjectText(dataset, "format-conversion-failed", bad), hourAgo);

    const conversionOnly = await redriveJson({
      dataset: dataset.name,
      local: true,
      dir,
      type: "format-conversion-failed",
      since: new Date(Date.now() - 60_000).toISOString(),
    });
    assert.deepEqual([conversionOnly.report.moved, conversionOnly.report.calls], [0, 0]);

    const processing = await redriveJson({ dataset: dataset.name, local: true, dir, type: "processing-failed" });
    assert.deepEqual([processing.report.moved, processing.report.lines], [1, 3]);
    // The transform rejects them again: new error documents whose rawData is what was first sent.
    const again = await errorDocuments({ bucketDir: bucketDir() }, dataset.name);
    const rawOf = (docs: typeof again) =>
      docs
        .filter((d) => d.type === "processing-failed")
        .map((d) => Buffer.from(String(d.doc.rawData), "base64").toString("utf8").trim())
        .sort();
    assert.deepEqual(rawOf(again), [...bad].sort());
    const redriven = await keysUnder(path.join(bucketDir(), "redriven"));
    assert.deepEqual(
      redriven,
      originalKeys.map((k) => k), // same key relative to errors/
    );
    // The older format-conversion object is untouched until asked for by type.
    assert.ok((await keysUnder(path.join(bucketDir(), "errors"))).includes(conversionKey.slice("errors/".length)));
    const all = await redriveJson({
      dataset: dataset.name,
      local: true,
      dir,
      type: "all",
      since: hourAgo.toISOString(),
    });
    assert.equal(all.report.moved, 2); // the conversion object and the new processing-failed one
  });

  it("leaves an object it cannot decode in place, names why, re-drives the rest and exits 3", async () => {
    const dataset = DATASETS[0];
    const records = producerRecords(dataset);
    const good = `errors/${dataset.name}/processing-failed/2026/11/28/b-good`;
    const broken = `errors/${dataset.name}/processing-failed/2026/11/28/a-broken`;
    await writeObject(bucketDir(), good, errorObjectText(dataset, "processing-failed", records));
    await writeObject(bucketDir(), broken, `{"attemptsMade":1,"rawData":"not base64!"}`);
    const run = await redriveJson({ dataset: dataset.name, local: true, dir });
    assert.equal(run.code, EXIT_OBJECTS_SKIPPED);
    assert.deepEqual([run.report.moved, run.report.skipped], [1, 1]);
    assert.ok((await keysUnder(path.join(bucketDir(), "errors"))).includes(broken.slice("errors/".length)));
    assert.equal(await parquetRows(bucketDir(), dataset.name), records.length);
    assert.throws(() => decodeErrorObject(Buffer.from("{}\n")), /line 1 has no base64 "rawData" field/);
    assert.throws(() => decodeErrorObject(Buffer.from("\nnope\n")), /line 2 is not JSON/);
  });

  it("--stack lists the stack's bucket, sends through its stream and moves objects with Copy+Delete (stand-ins)", async () => {
    const dataset = DATASETS[0];
    const records = producerRecords(dataset);
    const s3 = await S3StandIn.start();
    const firehose = await FirehoseStandIn.start({ keepRecords: true });
    const bucket = "lake-bucket";
    const stream = "tributary-dev-x";
    const pulumi: PulumiPort = {
      available: () => true,
      stackOutputs: () => ({ bucket, streams: { [dataset.name]: stream } }),
    };
    const keys = [1, 2].map((n) => `errors/${dataset.name}/processing-failed/2026/11/28/object ${n}`);
    const recent = new Date();
    try {
      for (const key of keys)
        s3.objects.set(`${bucket}/${key}`, {
          body: Buffer.from(errorObjectText(dataset, "processing-failed", records)),
          metadata: {},
          etag: '"x"',
          lastModified: recent,
        });
      s3.objects.set(`${bucket}/errors/${dataset.name}/processing-failed/2020/01/01/old`, {
        body: Buffer.from(errorObjectText(dataset, "processing-failed", records)),
        metadata: {},
        etag: '"y"',
        lastModified: new Date("2020-01-01T00:00:00Z"),
      });
      const args = {
        dataset: dataset.name,
        stack: "dev",
        endpoint: firehose.endpoint,
        s3Endpoint: s3.endpoint,
        since: "2021-01-01",
      };
      const first = await redriveJson(args, pulumi);
      assert.deepEqual([first.code, first.report.moved, first.report.lines], [0, 2, 2 * records.length]);
      const sent = firehose.records
        .filter((r) => r.stream === stream)
        .flatMap((r) => r.data.toString("utf8").split("\n").filter(Boolean));
      assert.deepEqual(sent.sort(), [...records, ...records].sort());
      const stored = [...s3.objects.keys()].sort();
      assert.deepEqual(stored, [
        `${bucket}/errors/${dataset.name}/processing-failed/2020/01/01/old`,
        ...keys.map((k) => `${bucket}/${redrivenKey(k)}`),
      ]);
      // Each object moved only after its records were sent: Copy then Delete, per object.
      const ops = s3.requests.map((r) => r.operation).filter((o) => o !== "ListObjectsV2");
      assert.deepEqual(ops, ["GetObject", "CopyObject", "DeleteObject", "GetObject", "CopyObject", "DeleteObject"]);

      const before = firehose.records.length;
      const second = await redriveJson(args, pulumi);
      assert.deepEqual([second.report.moved, firehose.records.length], [0, before]);
    } finally {
      await s3.close();
      await firehose.close();
    }
  });

  it("--loader-dlq moves each message to the queue with its attributes, then deletes it from the DLQ", async () => {
    const parked: Message[] = [1, 2, 3].map((n) => ({
      Body: `{"Records":[{"s3":{"object":{"key":"curated/x/${n}.parquet"}}}]}`,
      ReceiptHandle: `handle-${n}`,
      MessageAttributes: { source: { DataType: "String", StringValue: "s3" } },
    }));
    const sent: Array<ReceiveMessageCommand | SendMessageCommand | DeleteMessageCommand> = [];
    const sqs: SqsPort = {
      async send(command) {
        sent.push(command);
        if (command instanceof ReceiveMessageCommand) return { Messages: parked.splice(0, 2) };
        return {};
      },
    };
    const moved = await redriveDeadLetterQueue(sqs, { deadLetterQueueUrl: "https://dlq", queueUrl: "https://q" });
    assert.equal(moved, 3);
    const names = sent.map((c) => c.constructor.name);
    assert.deepEqual(names, [
      "ReceiveMessageCommand",
      "SendMessageCommand",
      "DeleteMessageCommand",
      "SendMessageCommand",
      "DeleteMessageCommand",
      "ReceiveMessageCommand",
      "SendMessageCommand",
      "DeleteMessageCommand",
      "ReceiveMessageCommand",
    ]);
    const sends = sent.filter((c): c is SendMessageCommand => c instanceof SendMessageCommand);
    assert.ok(
      sends.every((c) => c.input.QueueUrl === "https://q" && c.input.MessageAttributes?.source.StringValue === "s3"),
    );
    assert.deepEqual(
      sent
        .filter((c): c is DeleteMessageCommand => c instanceof DeleteMessageCommand)
        .map((c) => [c.input.QueueUrl, c.input.ReceiptHandle]),
      [1, 2, 3].map((n) => ["https://dlq", `handle-${n}`]),
    );
  });
});
