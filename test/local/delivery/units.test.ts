import { strict as assert } from "node:assert";
import type { Column } from "../../../src/datasets/types";
import { deaggregateJson } from "../../../src/local/delivery/deaggregate";
import { openXConverter } from "../../../src/local/delivery/openx";
import { allDatasets } from "../../../src/datasets";
import { DEFAULT_DELIVERY_SETTINGS, deliverySpecFor } from "../../../src/spec";
import { evaluatePrefix, formatJavaTimestamp } from "../../../src/local/delivery/prefix";
import { createJqEngine, jqBinaryVersion, wasmJqEngine } from "../../../src/local/jq";

const DATASETS = allDatasets();

describe("RecordDeAggregation (SubRecordType JSON)", () => {
  it("splits newline-delimited and concatenated objects, braces inside strings included", () => {
    const result = deaggregateJson('{"a":"}{"}\n{"b":[1,{"c":2}]}{"d":"\\"}"}  \n');
    assert.deepEqual(result, { ok: true, subRecords: ['{"a":"}{"}', '{"b":[1,{"c":2}]}', '{"d":"\\"}"}'] });
  });

  it("rejects an array, a scalar, invalid JSON and more than 500 objects, naming the problem", () => {
    const array = deaggregateJson('[{"a":1}]');
    assert.ok(!array.ok);
    assert.equal(array.errorCode, "RecordDeAggregation.NotAJsonObject");
    assert.match(array.reason, /a JSON array/);
    const invalid = deaggregateJson('{"a":1}\n{"b":tru}');
    assert.ok(!invalid.ok);
    assert.equal(invalid.errorCode, "RecordDeAggregation.InvalidJson");
    assert.match(invalid.reason, /^sub-record 2 is not valid JSON/);
    const unterminated = deaggregateJson('{"a":{"b":1}');
    assert.ok(!unterminated.ok && unterminated.errorCode === "RecordDeAggregation.InvalidJson");
    assert.deepEqual(deaggregateJson('{"a":1}\n'.repeat(500)).ok, true);
    const tooMany = deaggregateJson('{"a":1}\n'.repeat(501));
    assert.ok(!tooMany.ok);
    assert.equal(tooMany.errorCode, "RecordDeAggregation.TooManySubRecords");
  });
});

describe("OpenX JSON SerDe conversion", () => {
  const columns: Column[] = [
    { name: "event_time", type: "timestamp", comment: "" },
    { name: "first_name", type: "string", comment: "", jsonKey: "firstName" },
    { name: "status", type: "int", comment: "" },
    { name: "bytes", type: "bigint", comment: "" },
    { name: "length", type: "double", comment: "" },
    { name: "ok", type: "boolean", comment: "" },
  ];
  const converter = openXConverter(columns, {
    caseInsensitive: true,
    convertDotsInJsonKeysToUnderscores: false,
    columnToJsonKeyMappings: { first_name: "firstname" },
  });
  const row = (json: string) => {
    const result = converter.convert(json);
    assert.ok(result.ok, JSON.stringify(result));
    return result.row;
  };

  it("matches keys case-insensitively and through columnToJsonKeyMappings, drops unknown keys, fills nulls", () => {
    assert.deepEqual(row('{"FIRSTNAME":"Ann","Status":"404","extra":1,"LENGTH":"2.5","ok":"TRUE"}'), {
      event_time: null,
      first_name: "Ann",
      status: 404,
      bytes: null,
      length: 2.5,
      ok: true,
    });
  });

  it("lower-cases JSON keys before the mappings, so a camelCase mapping value matches nothing (as on AWS)", () => {
    const camel = openXConverter(columns, {
      caseInsensitive: true,
      convertDotsInJsonKeysToUnderscores: false,
      columnToJsonKeyMappings: { first_name: "firstName" },
    });
    const result = camel.convert('{"firstName":"Ann","status":200}');
    assert.ok(result.ok);
    assert.equal(result.row.first_name, null, "Firehose sees the key as firstname, never firstName");
    assert.equal(result.row.status, 200);
  });

  it("every dataset's spec maps lower-case keys, so a key as the producer writes it fills its column", () => {
    const sampleValue: Record<string, unknown> = { timestamp: 1541106106, boolean: true, date: "2018-11-01" };
    for (const dataset of DATASETS) {
      const spec = deliverySpecFor(dataset, DEFAULT_DELIVERY_SETTINGS, { prefix: "tributary-test" });
      const serde = spec.conversion.openXJsonSerDe;
      const converter = openXConverter(dataset.columns, serde);
      for (const column of dataset.columns.filter((c) => c.jsonKey !== undefined)) {
        const key = serde.columnToJsonKeyMappings[column.name];
        if (key !== undefined) assert.equal(key, key.toLowerCase(), `${dataset.name}.${column.name} maps to ${key}`);
        const result = converter.convertObject({ [column.jsonKey!]: sampleValue[column.type] ?? "7" });
        assert.ok(result.ok, JSON.stringify(result));
        assert.notEqual(result.row[column.name], null, `${dataset.name}.${column.name} ← ${column.jsonKey}`);
      }
    }
  });

  it("reads the documented timestamp formats and epoch seconds or milliseconds", () => {
    const at = (v: string) => row(`{"event_time":${v}}`).event_time;
    assert.equal(at('"2018-11-01T21:01:46Z"'), "2018-11-01 21:01:46");
    assert.equal(at('"2018-11-01T21:01:46.5Z"'), "2018-11-01 21:01:46.500000");
    assert.equal(at('"2010-12-1 08:26:00"'), "2010-12-01 08:26:00");
    assert.equal(at('"2018-11-01 21:01:46.796"'), "2018-11-01 21:01:46.796000");
    assert.equal(at("1541106106"), "2018-11-01 21:01:46.000000");
    assert.equal(at("1541106106796"), "2018-11-01 21:01:46.796000");
  });

  it("sends values that cannot convert to format-conversion-failed with the column and value", () => {
    assert.deepEqual(converter.convert('{"status":"abc"}'), {
      ok: false,
      errorCode: "DataFormatConversion.MalformedData",
      reason: 'column status (int): value "abc" is not an integer',
    });
    assert.deepEqual(converter.convert('{"status":3000000000}'), {
      ok: false,
      errorCode: "DataFormatConversion.MalformedData",
      reason: "column status (int): value 3000000000 is out of range [-2147483648, 2147483647]",
    });
    const badTime = converter.convert('{"event_time":"2018-13-01 00:00:00"}');
    assert.ok(
      !badTime.ok &&
        badTime.reason === 'column event_time (timestamp): value "2018-13-01 00:00:00" is not a valid date and time',
    );
    const notObject = converter.convert("[1]");
    assert.ok(!notObject.ok && notObject.errorCode === "DataFormatConversion.ParseError");
  });
});

describe("S3 prefix expressions", () => {
  it("evaluates partition keys, the arrival timestamp and the error output type", () => {
    const arrival = Date.UTC(2026, 0, 2, 3, 4, 5);
    assert.equal(formatJavaTimestamp("yyyy-MM-dd-HH-mm-ss", arrival), "2026-01-02-03-04-05");
    assert.equal(
      evaluatePrefix(
        "curated/weblogs/dt=!{partitionKeyFromQuery:dt}/status_class=!{partitionKeyFromQuery:status_class}/",
        {
          partitionKeys: { dt: "2015-05-17", status_class: "2xx" },
          arrivalMs: arrival,
        },
      ),
      "curated/weblogs/dt=2015-05-17/status_class=2xx/",
    );
    assert.equal(
      evaluatePrefix("errors/weblogs/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd}/", {
        arrivalMs: arrival,
        errorOutputType: "processing-failed",
      }),
      "errors/weblogs/processing-failed/2026/01/02/",
    );
  });
});

describe("jq engines", () => {
  const query = '{dt:(.ts / 1000 | floor | strftime("%Y-%m-%d")), page:.page}';
  const inputs = ['{"ts":1541106106796,"page":"NextSong"}', '{"ts":"x"}', '{"ts":0,"page":null}'];
  const expected = [
    { ok: true, outputs: [{ dt: "2018-11-01", page: "NextSong" }] },
    { ok: false, error: 'string ("x") and number (1000) cannot be divided' },
    { ok: true, outputs: [{ dt: "1970-01-01", page: null }] },
  ];

  it("jq-web evaluates a batch with one outcome per record, a failing record failing alone", async () => {
    assert.deepEqual(await wasmJqEngine().evaluate(query, inputs), expected);
  });

  it("the jq 1.6 binary gives the same outcomes", async function () {
    if (jqBinaryVersion() !== "jq-1.6") this.skip();
    const engine = createJqEngine("auto");
    assert.equal(engine.isFirehoseVersion, true);
    assert.deepEqual(await engine.evaluate(query, inputs), expected);
  });
});
