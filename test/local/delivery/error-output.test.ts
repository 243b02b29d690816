import { strict as assert } from "node:assert";
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { PutRecordBatchCommand, type FirehoseClient } from "@aws-sdk/client-firehose";
import { datasetByName } from "../../../src/datasets";
import type { OfflineLake } from "../../../src/local/lake";
import { errorDocuments, startLakeWithClient } from "../../support/lake-errors";

/**
 * Records that cannot be delivered land under the evaluated error prefix with Firehose's error
 * document shape and a reason, by error output type, and never stop the good records around them.
 */
describe("offline delivery: error output", function () {
  this.timeout(30_000);
  let lake: OfflineLake;
  let client: FirehoseClient;
  let close: () => Promise<void>;
  before(async () => {
    ({ lake, client, close } = await startLakeWithClient("lake-errors", {
      datasets: [datasetByName("sparkify_events"), datasetByName("weblogs")],
      jq: "wasm",
    }));
  });
  after(() => close());

  const event = (extra: Record<string, unknown>) =>
    JSON.stringify({ ts: 1541106106796, page: "NextSong", sessionId: 1, itemInSession: 0, userId: "7", ...extra });

  it("routes each kind of failure to its error output type with a reason, and delivers the rest", async () => {
    const send = (stream: string, records: string[]) =>
      client.send(
        new PutRecordBatchCommand({
          DeliveryStreamName: stream,
          Records: records.map((r) => ({ Data: Buffer.from(r) })),
        }),
      );
    const sparkify = lake.specs.find((s) => s.dataset === "sparkify_events")?.streamName ?? "";
    const weblogs = lake.specs.find((s) => s.dataset === "weblogs")?.streamName ?? "";
    await send(sparkify, [
      `${event({ song: "good one" })}\n${event({ song: "good two", itemInSession: 1 })}\n`,
      `[${event({})}]`,
      `${event({ song: "cut" })}\n{"ts":`,
      `${event({ song: "x" })}\n`.repeat(501),
      event({ ts: "yesterday" }),
      event({ itemInSession: "first" }),
    ]);
    await send(weblogs, [
      JSON.stringify({
        host: "1.2.3.4",
        ident: null,
        authuser: null,
        datetime: "not a date",
        request: "GET / HTTP/1.1",
        response: "200",
        bytes: "5",
        referer: null,
        agent: null,
      }),
    ]);
    await lake.flush();

    const streams = lake.counters().streams;
    assert.equal(streams.sparkify_events.delivered, 2);
    assert.deepEqual(streams.sparkify_events.errorCodes, {
      "RecordDeAggregation.NotAJsonObject": 1,
      "RecordDeAggregation.InvalidJson": 1,
      "RecordDeAggregation.TooManySubRecords": 1,
      "DynamicPartitioning.MetadataExtractionFailed": 1,
      "DataFormatConversion.MalformedData": 1,
    });
    assert.deepEqual(streams.weblogs.errors, { "processing-failed": 1 });

    const docs = await errorDocuments(lake, "sparkify_events");
    const byCode = new Map(docs.map((d) => [String(d.doc.errorCode ?? d.doc.lastErrorCode), d]));
    const extraction = byCode.get("DynamicPartitioning.MetadataExtractionFailed");
    assert.equal(extraction?.type, "processing-failed");
    assert.equal(Buffer.from(String(extraction?.doc.rawData), "base64").toString(), event({ ts: "yesterday" }));
    assert.match(String(extraction?.doc.errorMessage), /cannot be divided/);
    const conversion = byCode.get("DataFormatConversion.MalformedData");
    assert.equal(conversion?.type, "format-conversion-failed");
    assert.equal(conversion?.doc.lastErrorMessage, 'column item_in_session (int): value "first" is not an integer');
    assert.deepEqual(Object.keys(conversion?.doc ?? {}).sort(), [
      "arrivalTimestamp",
      "attemptEndingTimestamp",
      "attemptsMade",
      "dataCatalogTable",
      "lastErrorCode",
      "lastErrorMessage",
      "rawData",
      "sequenceNumber",
      "subSequenceNumber",
    ]);
    const tooMany = byCode.get("RecordDeAggregation.TooManySubRecords");
    assert.equal(
      Buffer.from(String(tooMany?.doc.rawData), "base64").toString(),
      `${event({ song: "x" })}\n`.repeat(501),
    );

    const [lambda] = await errorDocuments(lake, "weblogs");
    assert.equal(lambda.type, "processing-failed");
    assert.equal(lambda.doc.errorCode, "Lambda.ProcessingFailedStatus");
    assert.match(String(lambda.doc.errorMessage), /datetime/);
    assert.match(
      String(lambda.doc.lambdaArn),
      /^arn:aws:lambda:us-east-1:000000000000:function:tributary-dev-weblogs-transform:\$LATEST$/,
    );
    // The error prefix's !{timestamp:yyyy/MM/dd} is the arrival day of the record.
    const day = new Date(Number(lambda.doc.arrivalTimestamp)).toISOString().slice(0, 10).replace(/-/g, "/");
    const files = await fs.readdir(
      path.join(lake.bucketDir, "errors", "weblogs", "processing-failed", ...day.split("/")),
    );
    assert.equal(files.length, 1);
    assert.match(files[0], /^tributary-dev-weblogs-1-\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-[0-9a-f-]{36}$/);
  });

  it("an empty record goes to format-conversion-failed as DataFormatConversion.MalformedData, never vanishes", async () => {
    const sparkify = lake.specs.find((s) => s.dataset === "sparkify_events")?.streamName ?? "";
    const before = lake.counters().streams.sparkify_events.errorCodes["DataFormatConversion.MalformedData"] ?? 0;
    const docsBefore = (await errorDocuments(lake, "sparkify_events")).length;
    await client.send(
      new PutRecordBatchCommand({
        DeliveryStreamName: sparkify,
        Records: [{ Data: Buffer.alloc(0) }, { Data: Buffer.from("\n") }],
      }),
    );
    await lake.flush();
    assert.equal(lake.counters().streams.sparkify_events.errorCodes["DataFormatConversion.MalformedData"], before + 2);
    const docs = (await errorDocuments(lake, "sparkify_events")).slice(docsBefore);
    const empties = (await errorDocuments(lake, "sparkify_events")).filter(
      (d) => d.type === "format-conversion-failed" && /empty/.test(String(d.doc.lastErrorMessage)),
    );
    assert.equal(empties.length, 2, JSON.stringify(docs));
    assert.deepEqual(empties.map((d) => Buffer.from(String(d.doc.rawData), "base64").toString()).sort(), ["", "\n"]);
  });
});
