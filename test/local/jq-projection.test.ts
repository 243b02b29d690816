import { strict as assert } from "node:assert";
import { allDatasets } from "../../src/datasets";
import { binaryJqEngine, jqBinaryVersion } from "../../src/local/jq";
import { jqInputProjection } from "../../src/local/jq-projection";
import { localStackSettings } from "../../src/local/lake";
import { deliverySpecFor } from "../../src/spec";
import { hasSharedDatasets, realRecords, skipWithoutSharedDatasets } from "../support/datasets";

const DATASETS = allDatasets();

/**
 * jq gets only the top-level fields a MetadataExtractionQuery reads, and only when that provably
 * changes nothing: the outcomes of jq 1.6 on projected records must equal those on whole records.
 */
const { prefix, settings } = localStackSettings("dev");
const QUERIES = DATASETS.map((dataset) => {
  const processor = deliverySpecFor(dataset, settings, { prefix }).processors.find(
    (p) => p.type === "MetadataExtraction",
  );
  return { dataset, query: processor?.type === "MetadataExtraction" ? processor.query : "" };
});

describe("jq input projection", () => {
  it("finds the fields every dataset's query reads: the partition keys' columns, as the stream's records name them", () => {
    for (const { dataset, query } of QUERIES) {
      const fields = dataset.declaration.partitionKeys.map((k) => {
        const column = dataset.declaration.columns.find((c) => c.name === k.column);
        return dataset.transform ? k.column : (column?.field ?? k.column);
      });
      assert.deepEqual(jqInputProjection(query)?.fields, [...new Set(fields)], dataset.name);
    }
    const builtIn = QUERIES.filter(({ dataset }) => dataset.declaration.demo?.generator !== undefined);
    assert.deepEqual(
      Object.fromEntries(builtIn.map(({ dataset, query }) => [dataset.name, jqInputProjection(query)?.fields])),
      {
        weblogs: ["event_time", "status"],
        syslog: ["event_time"],
        sparkify_events: ["ts", "page"],
        sparkify_songs: ["year"],
        retail_events: ["event_time", "event"],
        retail_item_properties: ["event_time", "property"],
        retail_category_tree: ["parent_id"],
        ecommerce_invoices: ["invoice_date"],
        covidx_ct: ["split", "class_name"],
      },
    );
  });

  it("follows jq's scoping: after a pipe, in index bounds, object keys and shorthand", () => {
    const fields = (query: string) => jqInputProjection(query)?.fields;
    assert.deepEqual(fields(".a | .b"), ["a"]);
    assert.deepEqual(fields(".a[.b:.c]"), ["a", "b", "c"]);
    assert.deepEqual(fields("{(.k): .v, w}"), ["k", "v", "w"]);
    assert.deepEqual(fields('{x: ."odd key".y?, z: [.p, .q] | length}'), ["odd key", "p", "q"]);
    assert.deepEqual(fields('if .a == "x" then .b elif .c then .d // "e" else null end'), ["a", "b", "c", "d"]);
    assert.deepEqual(fields("{c: (.a | map(select(. > 1)) | length)}"), ["a"]);
    assert.deepEqual(fields('{k: "constant"}'), []);
  });

  it("gives up whenever the query could see more of the record than named fields", () => {
    for (const query of [
      ".",
      "keys",
      "{k: tostring}",
      "{k: length}",
      ".[]",
      '.["a"]',
      "..",
      "$__loc__",
      ". as $r | $r.a",
      "def f: .a; f",
      "reduce .a[] as $x (0; . + $x)",
      "try .a catch .",
      '"\\(.a)"',
      "@base64",
      "{a: input}",
      ".a = 1",
      "-.a",
      "{a: .b + 1}",
      "{k: .a} # comment",
      ".a |",
    ]) {
      assert.equal(jqInputProjection(query), undefined, query);
    }
  });

  it("projects scalar fields only; a record with anything else goes to jq whole", () => {
    const projection = jqInputProjection("{a: .a, b: .b, c: .c}");
    assert.ok(projection);
    assert.equal(
      projection.project({ a: 'x\u0000"', b: 1.5, c: null, d: { big: true } }),
      '{"a":"x\\u0000\\"","b":1.5,"c":null}',
    );
    assert.equal(projection.project({ b: false }), '{"b":false}');
    assert.equal(projection.project({ a: { nested: 1 } }), undefined);
    assert.equal(projection.project({ a: [1] }), undefined);
    assert.equal(projection.project({ a: -0 }), undefined);
    assert.equal(projection.project({ a: Infinity }), undefined);
    assert.equal(projection.project([1]), undefined);
  });

  it("jq 1.6 gives the same outcomes on projected and whole real records, for every dataset", async function () {
    skipWithoutSharedDatasets(this);
    if (!hasSharedDatasets() || jqBinaryVersion() !== "jq-1.6") this.skip();
    this.timeout(60_000);
    const jq = binaryJqEngine();
    for (const { dataset, query } of QUERIES) {
      const projection = jqInputProjection(query);
      assert.ok(projection, dataset.name);
      // Edge values next to the real ones: numbers jq must read back exactly, odd strings, nulls.
      const edges = [0.1 + 0.2, 1541106106796.5, -1e-7, "2015-05-17T10:05:03Z\u2028\ud83d\ude00", null];
      const records: unknown[] = [
        ...realRecords(dataset).records,
        ...projection.fields.flatMap((f) => edges.map((v) => ({ [f]: v, unread: "filler" }))),
        {},
      ];
      const whole = records.map((r) => JSON.stringify(r));
      const projected = records.map((r, i) => projection.project(r) ?? whole[i]);
      assert.ok(
        projected.some((p, i) => p !== whole[i]),
        `${dataset.name}: nothing was projected`,
      );
      assert.deepEqual(await jq.evaluate(query, projected), await jq.evaluate(query, whole), dataset.name);
    }
  });
});
