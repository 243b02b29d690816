import { strict as assert } from "node:assert";
import { deaggregateJsonRecords } from "../../../src/local/delivery/deaggregate";

/**
 * De-aggregation parses each sub-record once and hands the object on. Records packed one object per
 * line take a fast path; it must split exactly as the scanner does, and leave every other shape to it.
 */
describe("RecordDeAggregation with parsed sub-records", () => {
  const split = (text: string) => {
    const result = deaggregateJsonRecords(text);
    assert.ok(result.ok, JSON.stringify(result));
    for (const sub of result.subRecords) assert.deepEqual(sub.value, JSON.parse(sub.text));
    return result.subRecords.map((s) => s.text);
  };

  it("splits JSON lines with CRLF, blank lines and JSON whitespace around objects", () => {
    assert.deepEqual(split('{"a":1}\r\n\r\n \t{"b":"x y"} \n{"c":{"d":[1]}}'), [
      '{"a":1}',
      '{"b":"x y"}',
      '{"c":{"d":[1]}}',
    ]);
    assert.deepEqual(split(" \n\r\n"), []);
  });

  it("hands pretty-printed and concatenated objects to the scanner", () => {
    assert.deepEqual(split('{\n  "a": 1\n}\n{"b":2}{"c":3}\n'), ['{\n  "a": 1\n}', '{"b":2}', '{"c":3}']);
  });

  it("rejects what the scanner rejects, with its reason (no JSON whitespace but NBSP; arrays; a line too many)", () => {
    assert.deepEqual(deaggregateJsonRecords('{"a":1}\n\u00a0{"b":2}'), {
      ok: false,
      errorCode: "RecordDeAggregation.NotAJsonObject",
      reason: `sub-record 2 starts with ${JSON.stringify('\u00a0{"b":2}')}; JSON de-aggregation takes objects one per line or concatenated, never arrays or scalars`,
    });
    const array = deaggregateJsonRecords('{"a":1}\n[{"b":2}]');
    assert.ok(!array.ok && array.errorCode === "RecordDeAggregation.NotAJsonObject");
    const tooMany = deaggregateJsonRecords('{"a":1}\n'.repeat(501));
    assert.ok(!tooMany.ok && tooMany.errorCode === "RecordDeAggregation.TooManySubRecords");
    assert.equal(split('{"a":1}\n'.repeat(500)).length, 500);
  });
});
