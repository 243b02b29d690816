import { strict as assert } from "node:assert";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  DescribeDeliveryStreamCommand,
  FirehoseClient,
  ListDeliveryStreamsCommand,
  PutRecordBatchCommand,
  PutRecordCommand,
} from "@aws-sdk/client-firehose";
import {
  DurableSpoolSink,
  encodeSpoolFrame,
  startFirehoseEndpoint,
  type FirehoseEndpoint,
  type StreamSink,
} from "../../../src/local/endpoint";

/** Records what the endpoint hands the sink, in memory. */
class RecordingSink implements StreamSink {
  readonly received: Array<{ stream: string; records: Buffer[] }> = [];
  async accept(stream: string, records: readonly Buffer[]): Promise<void> {
    this.received.push({ stream, records: [...records] });
  }
  recordsOf(stream: string): string[] {
    return this.received.filter((r) => r.stream === stream).flatMap((r) => r.records.map((b) => b.toString("utf8")));
  }
}

const STREAM = "tributary-dev-weblogs";

function clientFor(endpoint: FirehoseEndpoint): FirehoseClient {
  return new FirehoseClient({
    endpoint: endpoint.url,
    region: "us-east-1",
    credentials: { accessKeyId: "AKIDLOCAL", secretAccessKey: "local-secret" },
    // One attempt: these tests assert the endpoint's first answer, not the SDK's retries.
    maxAttempts: 1,
  });
}

async function expectRejection(
  promise: Promise<unknown>,
): Promise<Error & { $metadata?: { httpStatusCode?: number } }> {
  try {
    await promise;
  } catch (err) {
    return err as Error & { $metadata?: { httpStatusCode?: number } };
  }
  assert.fail("expected the call to fail");
}

describe("local Firehose endpoint, through the real @aws-sdk/client-firehose", () => {
  let sink: RecordingSink;
  let endpoint: FirehoseEndpoint;
  let client: FirehoseClient;

  beforeEach(async () => {
    sink = new RecordingSink();
    endpoint = await startFirehoseEndpoint({
      streams: [
        {
          name: STREAM,
          s3Prefix: "curated/weblogs/dt=!{partitionKeyFromQuery:dt}/",
          errorOutputPrefix: "errors/weblogs/",
        },
        { name: "tributary-dev-syslog" },
      ],
      sink,
    });
    client = clientFor(endpoint);
  });

  afterEach(async () => {
    client.destroy();
    await endpoint.close();
  });

  it("PutRecord stores the record and returns a 56-character record id", async () => {
    const out = await client.send(
      new PutRecordCommand({ DeliveryStreamName: STREAM, Record: { Data: Buffer.from('{"a":1}\n') } }),
    );
    assert.equal(out.Encrypted, false);
    assert.match(out.RecordId ?? "", /^[A-Za-z0-9+/]{56}$/);
    assert.deepEqual(sink.recordsOf(STREAM), ['{"a":1}\n']);
  });

  it("PutRecordBatch stores every record in order and returns one unique id per entry", async () => {
    const lines = Array.from({ length: 500 }, (_, i) => `line ${i}\n`);
    const out = await client.send(
      new PutRecordBatchCommand({ DeliveryStreamName: STREAM, Records: lines.map((l) => ({ Data: Buffer.from(l) })) }),
    );
    assert.equal(out.FailedPutCount, 0);
    assert.equal(out.Encrypted, false);
    assert.equal(out.RequestResponses?.length, 500);
    const ids = new Set(out.RequestResponses?.map((r) => r.RecordId));
    assert.equal(ids.size, 500);
    assert.deepEqual(sink.recordsOf(STREAM), lines);
    assert.equal(endpoint.counters.acceptedRecords, 500);
  });

  it("accepts a record of exactly 1,024,000 bytes and a batch of exactly 4 MiB", async () => {
    const full = Buffer.alloc(1_024_000, 0x61);
    await client.send(new PutRecordCommand({ DeliveryStreamName: STREAM, Record: { Data: full } }));
    // 4 records of 1,024,000 + one of 97,152 = 4,194,304 bytes.
    const records = [full, full, full, full, Buffer.alloc(4 * 1024 * 1024 - 4 * 1_024_000, 0x62)].map((Data) => ({
      Data,
    }));
    const out = await client.send(new PutRecordBatchCommand({ DeliveryStreamName: STREAM, Records: records }));
    assert.equal(out.FailedPutCount, 0);
  });

  it("501 records -> ValidationException naming the 500 limit; nothing is stored", async () => {
    const records = Array.from({ length: 501 }, () => ({ Data: Buffer.from("xy") }));
    const err = await expectRejection(
      client.send(new PutRecordBatchCommand({ DeliveryStreamName: STREAM, Records: records })),
    );
    assert.equal(err.name, "ValidationException");
    assert.equal(err.$metadata?.httpStatusCode, 400);
    const item = "Record(data=java.nio.HeapByteBuffer[pos=0 lim=2 cap=2])";
    assert.equal(
      err.message,
      `1 validation error detected: Value '[${Array(501).fill(item).join(", ")}]' at 'records' failed to satisfy constraint: Member must have length less than or equal to 500`,
    );
    assert.equal(sink.received.length, 0);
  });

  it("4 MiB + 1 byte of records -> InvalidArgumentException; nothing is stored", async () => {
    const full = Buffer.alloc(1_024_000, 0x61);
    const records = [full, full, full, full, Buffer.alloc(4 * 1024 * 1024 - 4 * 1_024_000 + 1)].map((Data) => ({
      Data,
    }));
    const err = await expectRejection(
      client.send(new PutRecordBatchCommand({ DeliveryStreamName: STREAM, Records: records })),
    );
    assert.equal(err.name, "InvalidArgumentException");
    assert.equal(err.message, "Records size exceeds 4 MB limit");
    assert.equal(err.$metadata?.httpStatusCode, 400);
    assert.equal(sink.received.length, 0);
  });

  it("a record of 1,024,001 bytes -> ValidationException at its 1-based position (batch) or record.data", async () => {
    const big = Buffer.alloc(1_024_001, 0x61);
    const batchErr = await expectRejection(
      client.send(
        new PutRecordBatchCommand({
          DeliveryStreamName: STREAM,
          Records: [{ Data: Buffer.from("ok") }, { Data: big }],
        }),
      ),
    );
    assert.equal(batchErr.name, "ValidationException");
    assert.equal(
      batchErr.message,
      "1 validation error detected: Value 'java.nio.HeapByteBuffer[pos=0 lim=1024001 cap=1024001]' at 'records.2.member.data' failed to satisfy constraint: Member must have length less than or equal to 1024000",
    );
    const singleErr = await expectRejection(
      client.send(new PutRecordCommand({ DeliveryStreamName: STREAM, Record: { Data: big } })),
    );
    assert.equal(singleErr.name, "ValidationException");
    assert.equal(
      singleErr.message,
      "1 validation error detected: Value 'java.nio.HeapByteBuffer[pos=0 lim=1024001 cap=1024001]' at 'record.data' failed to satisfy constraint: Member must have length less than or equal to 1024000",
    );
    assert.equal(sink.received.length, 0);
  });

  it("unknown stream -> ResourceNotFoundException with AWS's message", async () => {
    const err = await expectRejection(
      client.send(new PutRecordBatchCommand({ DeliveryStreamName: "nope", Records: [{ Data: Buffer.from("x") }] })),
    );
    assert.equal(err.name, "ResourceNotFoundException");
    assert.equal(err.message, "Firehose nope under account 000000000000 not found.");
    const describeErr = await expectRejection(
      client.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: "nope" })),
    );
    assert.equal(describeErr.name, "ResourceNotFoundException");
  });

  it("DescribeDeliveryStream and ListDeliveryStreams answer with the configured streams", async () => {
    const described = await client.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: STREAM }));
    const d = described.DeliveryStreamDescription;
    assert.equal(d?.DeliveryStreamARN, `arn:aws:firehose:us-east-1:000000000000:deliverystream/${STREAM}`);
    assert.equal(d?.DeliveryStreamStatus, "ACTIVE");
    assert.equal(d?.DeliveryStreamType, "DirectPut");
    assert.ok(d?.CreateTimestamp instanceof Date);
    assert.equal(
      d?.Destinations?.[0].ExtendedS3DestinationDescription?.Prefix,
      "curated/weblogs/dt=!{partitionKeyFromQuery:dt}/",
    );
    assert.equal(d?.Destinations?.[0].ExtendedS3DestinationDescription?.ErrorOutputPrefix, "errors/weblogs/");

    const listed = await client.send(new ListDeliveryStreamsCommand({}));
    assert.deepEqual(listed.DeliveryStreamNames, ["tributary-dev-syslog", STREAM]);
    assert.equal(listed.HasMoreDeliveryStreams, false);
    const page = await client.send(new ListDeliveryStreamsCommand({ Limit: 1 }));
    assert.deepEqual(page.DeliveryStreamNames, ["tributary-dev-syslog"]);
    assert.equal(page.HasMoreDeliveryStreams, true);
    const next = await client.send(
      new ListDeliveryStreamsCommand({ ExclusiveStartDeliveryStreamName: "tributary-dev-syslog" }),
    );
    assert.deepEqual(next.DeliveryStreamNames, [STREAM]);
  });
});

describe("local Firehose endpoint, raw HTTP", () => {
  let endpoint: FirehoseEndpoint;
  const sigV4 =
    "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/firehose/aws4_request, SignedHeaders=host, Signature=00";

  before(async () => {
    endpoint = await startFirehoseEndpoint({ streams: [{ name: STREAM }], sink: new RecordingSink() });
  });
  after(() => endpoint.close());

  async function post(
    headers: Record<string, string>,
    body: string,
  ): Promise<{ status: number; json: Record<string, unknown> }> {
    const res = await fetch(`${endpoint.url}/`, {
      method: "POST",
      headers: { "content-type": "application/x-amz-json-1.1", ...headers },
      body,
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  }

  it("unknown operation -> 400 UnknownOperationException", async () => {
    const res = await post({ "x-amz-target": "Firehose_20150804.CreateDeliveryStream", authorization: sigV4 }, "{}");
    assert.equal(res.status, 400);
    assert.equal(res.json.__type, "com.amazon.coral.service#UnknownOperationException");
  });

  it("an unsigned request -> 400 MissingAuthenticationTokenException, as AWS answers", async () => {
    const res = await post({ "x-amz-target": "Firehose_20150804.ListDeliveryStreams" }, "{}");
    assert.equal(res.status, 400);
    assert.deepEqual(res.json, {
      __type: "MissingAuthenticationTokenException",
      message: "Missing Authentication Token",
    });
  });

  it("a body that is not JSON -> 400 SerializationException", async () => {
    const res = await post({ "x-amz-target": "Firehose_20150804.PutRecord", authorization: sigV4 }, "{nope");
    assert.equal(res.status, 400);
    assert.equal(res.json.__type, "com.amazon.coral.service#SerializationException");
  });
});

describe("fault injection", () => {
  it("fails a seeded fraction of entries with ServiceUnavailableException and stores only the others", async () => {
    const sink = new RecordingSink();
    const endpoint = await startFirehoseEndpoint({
      streams: [{ name: STREAM }],
      sink,
      faults: { serviceUnavailableRate: 0.2, seed: 7 },
    });
    const client = clientFor(endpoint);
    try {
      const lines = Array.from({ length: 200 }, (_, i) => `r${i}`);
      const out = await client.send(
        new PutRecordBatchCommand({
          DeliveryStreamName: STREAM,
          Records: lines.map((l) => ({ Data: Buffer.from(l) })),
        }),
      );
      const failed = (out.RequestResponses ?? []).filter((r) => r.ErrorCode !== undefined);
      assert.equal(out.FailedPutCount, failed.length);
      // Seed 7 at a 20% rate fails 35 of these 200 entries.
      assert.equal(failed.length, 35);
      for (const entry of failed) {
        assert.equal(entry.ErrorCode, "ServiceUnavailableException");
        assert.equal(entry.ErrorMessage, "Slow down.");
        assert.equal(entry.RecordId, undefined);
      }
      const okLines = lines.filter((_, i) => out.RequestResponses?.[i].ErrorCode === undefined);
      assert.deepEqual(sink.recordsOf(STREAM), okLines);

      // The same seed fails the same entries.
      const again = await startFirehoseEndpoint({
        streams: [{ name: STREAM }],
        sink: new RecordingSink(),
        faults: { serviceUnavailableRate: 0.2, seed: 7 },
      });
      const client2 = clientFor(again);
      const out2 = await client2.send(
        new PutRecordBatchCommand({
          DeliveryStreamName: STREAM,
          Records: lines.map((l) => ({ Data: Buffer.from(l) })),
        }),
      );
      assert.deepEqual(
        out2.RequestResponses?.map((r) => r.ErrorCode ?? "ok"),
        out.RequestResponses?.map((r) => r.ErrorCode ?? "ok"),
      );
      client2.destroy();
      await again.close();
    } finally {
      client.destroy();
      await endpoint.close();
    }
  });
});

describe("DurableSpoolSink", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "tributary-spool-"));
  });
  afterEach(() => fs.rm(dir, { recursive: true, force: true }));

  async function drain(sink: DurableSpoolSink, stream: string): Promise<string[]> {
    const out: string[] = [];
    for await (const record of sink.replay(stream)) out.push(record.toString("utf8"));
    return out;
  }

  it("replays accepted records in order, and a consumed record is not replayed again after reopening", async () => {
    const sink = new DurableSpoolSink({ dir, maxSegmentBytes: 64 });
    await sink.accept("s", [Buffer.from("a"), Buffer.from("b")]);
    await Promise.all([sink.accept("s", [Buffer.from("c")]), sink.accept("s", [Buffer.from("d")])]);
    assert.deepEqual(await drain(sink, "s"), ["a", "b", "c", "d"]);
    await sink.accept("s", [Buffer.from("e")]);
    await sink.close();

    const reopened = new DurableSpoolSink({ dir, maxSegmentBytes: 64 });
    assert.deepEqual(await drain(reopened, "s"), ["e"]);
    assert.deepEqual(await drain(reopened, "s"), []);
    await reopened.close();
  });

  it("replays the batch in progress again when the consumer stops mid-batch", async () => {
    const sink = new DurableSpoolSink({ dir });
    await sink.accept("s", [Buffer.from("a")]);
    await sink.accept("s", [Buffer.from("b"), Buffer.from("c")]);
    for await (const record of sink.replay("s")) {
      if (record.toString() === "b") break;
    }
    assert.deepEqual(await drain(sink, "s"), ["b", "c"]);
    await sink.close();
  });

  it("deletes fully consumed segments", async () => {
    const sink = new DurableSpoolSink({ dir, maxSegmentBytes: 32 });
    for (let i = 0; i < 5; i++) await sink.accept("s", [Buffer.alloc(40, 0x61 + i)]);
    assert.equal((await fs.readdir(path.join(dir, "s"))).filter((f) => f.endsWith(".spool")).length, 5);
    assert.equal((await drain(sink, "s")).length, 5);
    // Each frame is 12 (header) + 8 (arrival time) + 4 (count) + 4 (length) + 40 bytes = 68: the
    // fifth segment starts at 4 × 68.
    assert.equal(encodeSpoolFrame([Buffer.alloc(40)], 0).length, 68);
    assert.deepEqual(
      (await fs.readdir(path.join(dir, "s"))).filter((f) => f.endsWith(".spool")),
      ["00000000000000000272.spool"],
    );
    await sink.close();
  });

  it("truncates a torn last frame on open and keeps every complete one", async () => {
    const sink = new DurableSpoolSink({ dir });
    await sink.accept("s", [Buffer.from("whole")]);
    await sink.close();
    const file = path.join(dir, "s", "00000000000000000000.spool");
    const complete = (await fs.stat(file)).size;
    // A crash in the middle of appending a second frame.
    await fs.appendFile(file, Buffer.from("TRSP\u0000\u0000\u0000\u0040partial", "latin1"));
    const reopened = new DurableSpoolSink({ dir });
    assert.deepEqual(await drain(reopened, "s"), ["whole"]);
    assert.equal((await fs.stat(file)).size, complete);
    await reopened.accept("s", [Buffer.from("after")]);
    assert.deepEqual(await drain(reopened, "s"), ["after"]);
    await reopened.close();
  });

  it("refuses a stream name that could escape the spool folder", async () => {
    const sink = new DurableSpoolSink({ dir });
    await assert.rejects(sink.accept("..", [Buffer.from("x")]), /TRIBUTARY|Cannot spool stream/);
    await sink.close();
  });
});
