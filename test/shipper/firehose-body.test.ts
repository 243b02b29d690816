import { strict as assert } from "assert";
import { FirehoseClient } from "@aws-sdk/client-firehose";
import { firehoseClientFor, firehosePort, putRecordBatchBody } from "../../src/shipper/firehose";
import { FirehoseStandIn } from "../support/firehose-standin";

/** Records of sizes around the 48 KiB base64 step and the 3-byte groups, with every byte value. */
function records(): Buffer[] {
  const sizes = [0, 1, 2, 3, 4, 5, 48 * 1024 - 1, 48 * 1024, 48 * 1024 + 1, 200_001];
  return sizes.map((size, i) => {
    const data = Buffer.alloc(size);
    for (let j = 0; j < size; j++) data[j] = (j * 31 + i) & 0xff;
    return data;
  });
}

describe("shipper: the PutRecordBatch body, serialized once", function () {
  it("is byte for byte the JSON the SDK writes: stream name, then each record's Data in base64", function () {
    const data = records();
    for (const stream of ["weblogs", 'odd "name" é']) {
      const expected = JSON.stringify({
        DeliveryStreamName: stream,
        Records: data.map((d) => ({ Data: d.toString("base64") })),
      });
      assert.equal(putRecordBatchBody(stream, data).toString("utf8"), expected);
      assert.equal(
        putRecordBatchBody(stream, []).toString("utf8"),
        JSON.stringify({ DeliveryStreamName: stream, Records: [] }),
      );
    }
  });

  it("is the very Buffer the SDK sends, with its length, and a real endpoint accepts every record", async function () {
    const standIn = await FirehoseStandIn.start();
    const client: FirehoseClient = firehoseClientFor({ endpoint: standIn.endpoint });
    const sent: Array<{ body: unknown; length: string | undefined }> = [];
    client.middlewareStack.add(
      (next) => async (args) => {
        const request = args.request as { body: unknown; headers: Record<string, string> };
        sent.push({
          body: request.body,
          length: request.headers["content-length"],
        });
        return next(args);
      },
      { step: "finalizeRequest", priority: "low", name: "testCapture" },
    );
    try {
      const data = records().filter((d) => d.length > 0);
      const failed = await firehosePort(client).putRecordBatch("weblogs", data);
      assert.deepEqual(failed, []);
      assert.equal(sent.length, 1);
      const body = sent[0].body;
      assert.ok(Buffer.isBuffer(body), "the body goes to the handler as the Buffer serialized once, not a string");
      assert.equal(sent[0].length, String(body.length));
      assert.equal(
        body.toString(),
        JSON.stringify({ DeliveryStreamName: "weblogs", Records: data.map((d) => ({ Data: d.toString("base64") })) }),
      );
      assert.deepEqual(
        standIn.records.map((r) => r.data),
        data,
      );
    } finally {
      client.destroy();
      await standIn.close();
    }
  });
});
