import { strict as assert } from "assert";
import {
  firehoseTransformHandler,
  transformFirehoseBatch,
  type FirehoseTransformationEvent,
} from "../../src/transform/handler";
import { datasetByName } from "../../src/datasets";

const specOf = (name: string) => datasetByName(name).transform!;

const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");
const event = (datas: string[]): FirehoseTransformationEvent => ({
  invocationId: "inv-1",
  deliveryStreamArn: "arn:aws:firehose:eu-west-1:123456789012:deliverystream/tributary-dev-retail_category_tree",
  region: "eu-west-1",
  records: datas.map((d, i) => ({ recordId: `r${i}`, approximateArrivalTimestamp: 1_700_000_000_000, data: b64(d) })),
});

describe("Firehose transformation contract", () => {
  it("returns every recordId once, in order; a bad record is ProcessingFailed with its original data", async () => {
    const input = event([
      '{"categoryid":"1016","parentid":"213"}',
      "not json",
      '{"categoryid":"x","parentid":""}',
      '{"categoryid":"7","parentid":""}',
    ]);
    const rejected: Array<{ recordId: string; reason: string }> = [];
    const response = await firehoseTransformHandler(specOf("retail_category_tree"), {
      onRejected: (r) => rejected.push(r),
    })(input);
    assert.deepEqual(
      response.records.map((r) => [r.recordId, r.result]),
      [
        ["r0", "Ok"],
        ["r1", "ProcessingFailed"],
        ["r2", "ProcessingFailed"],
        ["r3", "Ok"],
      ],
    );
    assert.equal(Buffer.from(response.records[0].data, "base64").toString(), '{"category_id":1016,"parent_id":213}\n');
    assert.equal(response.records[1].data, input.records[1].data);
    assert.equal(response.records[2].data, input.records[2].data);
    assert.deepEqual(rejected, [
      { recordId: "r1", reason: "invalid JSON: Unexpected token 'o', \"not json\" is not valid JSON" },
      { recordId: "r2", reason: 'field "categoryid" is not an integer: "x"' },
    ]);
  });

  it("logs one JSON line per rejected record by default (CloudWatch is the only place Firehose keeps no reason)", () => {
    const lines: string[] = [];
    const original = console.warn;
    console.warn = (line: string) => lines.push(line);
    try {
      transformFirehoseBatch(specOf("retail_category_tree"), event(["[]"]));
    } finally {
      console.warn = original;
    }
    assert.deepEqual(
      lines.map((l) => JSON.parse(l)),
      [
        {
          level: "warn",
          msg: "record rejected",
          dataset: "retail_category_tree",
          recordId: "r0",
          reason: "record is not a JSON object",
        },
      ],
    );
  });

  it("an empty batch answers an empty list", async () => {
    assert.deepEqual(await firehoseTransformHandler(specOf("weblogs"))(event([])), { records: [] });
  });
});
