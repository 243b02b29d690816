import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import { allDatasets, type Dataset } from "../../../src/datasets";
import { duckdbType } from "../../../src/warehouse/ddl";
import { jqBinaryVersion } from "../../../src/local/jq";
import { shipFilesToLake, startOfflineLake, type LakeShipment, type OfflineLake } from "../../../src/local/lake";
import { REAL_FILES, SHARED_DATASETS, hasSharedDatasets, skipWithoutSharedDatasets } from "../../support/datasets";
import { errorDocuments } from "../../support/lake-errors";

const DATASETS = allDatasets();

/**
 * The offline lake on the real public datasets: every line shipped ends up exactly once in Parquet
 * or in an error output with a reason; the partition folders hold exactly the values jq 1.6
 * computes from the rows inside them; the Parquet schema is the Glue table's.
 */
const REAL = DATASETS.filter((d) => REAL_FILES[d.name]);

function metadataQuery(lake: OfflineLake, dataset: Dataset): string {
  const spec = lake.specs.find((s) => s.dataset === dataset.name);
  const p = spec?.processors.find((x) => x.type === "MetadataExtraction");
  if (!p || p.type !== "MetadataExtraction") throw new Error(`${dataset.name}: no MetadataExtraction processor`);
  return p.query;
}

describe("offline lake on the real datasets", function () {
  this.timeout(90_000);
  let dir: string;
  let lake: OfflineLake;
  let db: DuckDBInstance;
  let sql: DuckDBConnection;
  const shipments = new Map<string, LakeShipment>();

  before(async function () {
    if (!hasSharedDatasets()) return;
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "tributary-lake-real-"));
    lake = await startOfflineLake({ dir, datasets: REAL });
    const results = await Promise.all(
      REAL.map((d) =>
        shipFilesToLake(
          lake,
          d,
          REAL_FILES[d.name]().map((f) => path.join(SHARED_DATASETS, f)),
        ),
      ),
    );
    for (const r of results) shipments.set(r.dataset, r);
    await lake.flush();
    await lake.close();
    db = await DuckDBInstance.create(":memory:");
    sql = await db.connect();
  });
  after(async () => {
    sql?.closeSync();
    db?.closeSync();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  for (const dataset of REAL) {
    const glob = () => path.join(lake.bucketDir, "curated", dataset.name, "**", "*.parquet");

    it(`${dataset.name}: every line is in Parquet exactly once or rejected with a reason`, async function () {
      skipWithoutSharedDatasets(this);
      const shipment = shipments.get(dataset.name);
      assert.ok(shipment);
      const rows = Number((await sql.runAndReadAll(`SELECT COUNT(*) FROM read_parquet('${glob()}')`)).getRows()[0][0]);
      const errors = await errorDocuments(lake, dataset.name);
      for (const { doc } of errors)
        assert.ok(String(doc.errorMessage ?? doc.lastErrorMessage).length > 0, JSON.stringify(doc));
      const rejectedLines = shipment.stats.rejected;
      const rejectsText = rejectedLines ? await fs.readFile(shipment.rejectsFile, "utf8") : "";
      assert.equal(rejectsText.split("\n").filter(Boolean).length, rejectedLines);
      assert.equal(rows + errors.length + rejectedLines, shipment.stats.lines);
      const counters = lake.counters().streams[dataset.name];
      assert.equal(counters.delivered, rows);
      assert.equal(counters.subRecords, shipment.stats.linesAcknowledged);
    });

    it(`${dataset.name}: the Parquet schema is the Glue table's columns, in order`, async function () {
      skipWithoutSharedDatasets(this);
      const described = (
        await sql.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet('${glob()}', hive_partitioning = false)`)
      )
        .getRowObjects()
        .map((r) => `${String(r.column_name)} ${String(r.column_type)}`);
      assert.deepEqual(
        described,
        dataset.columns.map((c) => `${c.name} ${duckdbType(c.type)}`),
      );
    });

    it(`${dataset.name}: partition folders hold exactly the keys jq 1.6 computes from their rows`, async function () {
      skipWithoutSharedDatasets(this);
      if (jqBinaryVersion() === undefined) this.skip();
      // Rows back as the JSON the query saw: timestamps in the transform's "yyyy-MM-dd HH:mm:ss".
      const fields = dataset.columns.map(
        (c) =>
          `"${c.name}" := ${c.type === "timestamp" ? `strftime("${c.name}", '%Y-%m-%d %H:%M:%S')` : `"${c.name}"`}`,
      );
      const reader = await sql.runAndReadAll(
        `SELECT to_json(struct_pack(${fields.join(", ")}))::VARCHAR AS j, source_file
         FROM read_parquet('${glob()}', filename = 'source_file', hive_partitioning = false) ORDER BY source_file`,
      );
      const rows = reader.getRowObjects().map((r) => ({ json: String(r.j), file: String(r.source_file) }));
      assert.ok(rows.length > 0);
      const out = execFileSync("jq", ["-c", metadataQuery(lake, dataset)], {
        input: rows.map((r) => r.json).join("\n"),
        encoding: "utf8",
        maxBuffer: 256 * 1024 * 1024,
      })
        .split("\n")
        .filter(Boolean);
      assert.equal(out.length, rows.length);
      const mismatches: string[] = [];
      rows.forEach((row, i) => {
        const keys = JSON.parse(out[i]) as Record<string, string>;
        const folder = path
          .relative(path.join(lake.bucketDir, "curated", dataset.name), path.dirname(row.file))
          .split(path.sep)
          .join("/");
        const expected = dataset.partitionKeys.map((k) => `${k.name}=${keys[k.name]}`).join("/");
        if (folder !== expected && mismatches.length < 5) mismatches.push(`${folder} != ${expected}: ${row.json}`);
      });
      assert.deepEqual(mismatches, []);
    });
  }
});
