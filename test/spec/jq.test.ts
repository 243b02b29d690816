import { strict as assert } from "assert";
import { execFileSync, spawnSync } from "child_process";
import { allDatasets } from "../../src/datasets";
import { transformRecord } from "../../src/transform/records";
import { DEFAULT_DELIVERY_SETTINGS, deliverySpecFor, type DeliverySpec } from "../../src/spec";
import { realRecords, REAL_FILES, skipWithoutSharedDatasets } from "../support/datasets";

const DATASETS = allDatasets();

/**
 * Firehose runs each stream's MetadataExtraction query with jq 1.6. These tests run the very query
 * from the delivery spec through the real jq 1.6 binary and compare with the TypeScript twin of every
 * partition key, over records parsed from the real datasets.
 */
function jqVersion(): string | undefined {
  const result = spawnSync("jq", ["--version"], { encoding: "utf8" });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

function queryOf(spec: DeliverySpec): string {
  const p = spec.processors.find((x) => x.type === "MetadataExtraction");
  if (!p || p.type !== "MetadataExtraction") throw new Error("no MetadataExtraction processor");
  return p.query;
}

function runJq(query: string, records: readonly unknown[]): Record<string, unknown>[] {
  const out = execFileSync("jq", ["-c", query], {
    input: records.map((r) => JSON.stringify(r)).join("\n"),
    maxBuffer: 512 * 1024 * 1024,
    encoding: "utf8",
  });
  return out
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

const ARRIVAL = Date.UTC(2026, 10, 22);

/** RetailRocket events and item properties ship no sample: rows in the documented export shape. */
const HANDMADE: Readonly<Record<string, readonly Record<string, string>[]>> = {
  retail_events: [
    { timestamp: "1433221332117", visitorid: "257597", event: "view", itemid: "355908", transactionid: "" },
    { timestamp: "1433224214164", visitorid: "992329", event: "addtocart", itemid: "248676", transactionid: "" },
    { timestamp: "1438970468920", visitorid: "599528", event: "transaction", itemid: "356475", transactionid: "4000" },
    { timestamp: "1442004589439", visitorid: "1", event: "view", itemid: "1", transactionid: "" },
  ],
  retail_item_properties: [
    { timestamp: "1435460400000", itemid: "460429", property: "categoryid", value: "1338" },
    { timestamp: "1441508400000", itemid: "206783", property: "888", value: "1116713 960601 n277.200" },
    { timestamp: "1439089200000", itemid: "395014", property: "available", value: "0" },
    { timestamp: "1431226800000", itemid: "59481", property: "790", value: "n15360.000" },
  ],
};

describe("partition keys: jq 1.6 (Firehose's engine) agrees with the TypeScript side", function () {
  before(function () {
    const version = jqVersion();
    if (version === undefined) {
      if (process.env.CI)
        throw new Error("jq is not installed; .ci/run installs jq 1.6 from Debian (apt-get install -y jq)");
      console.log("      (skipped: install jq 1.6, e.g. apt-get install -y jq)");
      this.skip();
    }
    if (version !== "jq-1.6") console.log(`      (note: jq is ${version}; Firehose runs jq-1.6)`);
  });

  for (const dataset of DATASETS) {
    const spec = deliverySpecFor(dataset, DEFAULT_DELIVERY_SETTINGS, { prefix: "tributary-test" });
    if (REAL_FILES[dataset.name]) {
      it(`${dataset.name}: every real record gets the same keys from jq and from TypeScript`, function () {
        skipWithoutSharedDatasets(this);
        const { records } = realRecords(dataset, ARRIVAL);
        assert.ok(records.length > 0, "no records parsed");
        const fromJq = runJq(queryOf(spec), records);
        assert.equal(fromJq.length, records.length);
        records.forEach((record, i) => {
          const expected = Object.fromEntries(dataset.partitionKeys.map((k) => [k.name, k.fromRecord(record)]));
          assert.deepEqual(fromJq[i], expected, `record ${i}: ${JSON.stringify(record)}`);
        });
      });
    }
    if (HANDMADE[dataset.name]) {
      it(`${dataset.name}: documented export rows get the same keys from jq and from TypeScript`, function () {
        const records = HANDMADE[dataset.name].map((row) => {
          const result = transformRecord(dataset.transform!, row, { arrivalMs: ARRIVAL });
          assert.ok(result.ok, JSON.stringify(result));
          return result.record;
        });
        const fromJq = runJq(queryOf(spec), records);
        records.forEach((record, i) =>
          assert.deepEqual(
            fromJq[i],
            Object.fromEntries(dataset.partitionKeys.map((k) => [k.name, k.fromRecord(record)])),
          ),
        );
      });
    }
  }

  it("every enum-projected key only takes values its projection lists (Athena would hide the rest)", function () {
    skipWithoutSharedDatasets(this);
    for (const dataset of DATASETS) {
      const records = REAL_FILES[dataset.name] ? realRecords(dataset, ARRIVAL).records : [];
      for (const key of dataset.partitionKeys) {
        if (key.projection.type !== "enum") continue;
        const allowed = new Set(key.projection.values);
        for (const r of records)
          assert.ok(allowed.has(String(key.fromRecord(r))), `${dataset.name}.${key.name} = ${key.fromRecord(r)}`);
      }
    }
  });

  it("real datasets: the number of partitions per stream stays far below Firehose's 500 active partitions", function () {
    skipWithoutSharedDatasets(this);
    const counts: Record<string, number> = {};
    for (const dataset of DATASETS.filter((d) => REAL_FILES[d.name])) {
      const keys = new Set(
        realRecords(dataset, ARRIVAL).records.map((r) => dataset.partitionKeys.map((k) => k.fromRecord(r)).join("/")),
      );
      counts[dataset.name] = keys.size;
    }
    assert.deepEqual(counts, {
      covidx_metadata: 3,
      weblogs: 14,
      syslog: 70,
      sparkify_events: 60,
      sparkify_songs: 6,
      retail_category_tree: 2,
      ecommerce_invoices: 1,
      covidx_ct: 6,
    });
  });
});
