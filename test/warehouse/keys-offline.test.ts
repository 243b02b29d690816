import * as assert from "assert";
import { promises as fs } from "fs";
import { allDatasets } from "../../src/datasets";
import { loadLakeOnce, warehousePath } from "../../src/loader/duckdb";
import { declaresKey, renderCreateTable, warehouseDdl, warehouseTables } from "../../src/warehouse/ddl";
import { qualifiedName } from "../../src/warehouse/tables";
import { openDuckdb, tempDir } from "./lake-fixtures";

/**
 * Keys: Redshift declares every table's primary key (a planner hint it never enforces); DuckDB would
 * enforce one with an ART index whose upkeep grows with the table, so offline only the ledger keeps
 * its key. A warehouse.duckdb created before that is rebuilt without the indexes on its next load.
 */

const DATASETS = allDatasets();
const KEYED = warehouseTables(DATASETS).filter((t) => t.primaryKey !== undefined);
const KEYED_SQL =
  "SELECT schema_name || '.' || table_name FROM duckdb_constraints() WHERE constraint_type IN ('PRIMARY KEY', 'UNIQUE') ORDER BY 1";

describe("warehouse: primary keys on Redshift and DuckDB", function () {
  this.timeout(60_000);

  it("Redshift DDL declares every key; DuckDB DDL only the ledger's", () => {
    assert.ok(KEYED.length > 1);
    const redshift = warehouseDdl("redshift", DATASETS);
    const duckdb = warehouseDdl("duckdb", DATASETS);
    for (const table of KEYED) {
      const create = (ddl: string[]) =>
        ddl.find((s) => s.startsWith(`CREATE TABLE IF NOT EXISTS ${qualifiedName(table)} (`))!;
      assert.match(create(redshift), /PRIMARY KEY \(/, qualifiedName(table));
      assert.strictEqual(/PRIMARY KEY/.test(create(duckdb)), declaresKey(table, "duckdb"), qualifiedName(table));
    }
    assert.deepStrictEqual(KEYED.filter((t) => declaresKey(t, "duckdb")).map(qualifiedName), ["tributary.load_ledger"]);
  });

  it("a warehouse.duckdb with the old keys is rebuilt without them on its next load, rows and views intact", async () => {
    const lakeDir = await tempDir("keys-offline");
    try {
      const old = await openDuckdb(warehousePath(lakeDir));
      try {
        for (const statement of warehouseDdl("duckdb", DATASETS)) {
          const table = KEYED.find((t) => statement.startsWith(`CREATE TABLE IF NOT EXISTS ${qualifiedName(t)} (`));
          // As the DDL was before: every declared key, enforced.
          await old.connection.run(
            table ? renderCreateTable({ ...table, enforcedOffline: true }, "duckdb") : statement,
          );
        }
        const keyedBefore = (await old.connection.runAndReadAll(KEYED_SQL)).getRows().flat();
        assert.deepStrictEqual(keyedBefore, KEYED.map(qualifiedName).sort());
        const model = KEYED.find((t) => t.schema === "analytics")!;
        const value = (type: string) =>
          type === "string"
            ? "'x'"
            : type === "boolean"
              ? "false"
              : /timestamp|date/.test(type)
                ? "DATE '2024-05-01'"
                : "1";
        await old.connection.run(
          `INSERT INTO ${qualifiedName(model)} (${model.columns.map((c) => c.name).join(", ")}) VALUES (${model.columns.map((c) => value(c.type)).join(", ")})`,
        );
      } finally {
        old.close();
      }

      await loadLakeOnce(lakeDir);
      await loadLakeOnce(lakeDir);

      const db = await openDuckdb(warehousePath(lakeDir));
      try {
        assert.deepStrictEqual((await db.connection.runAndReadAll(KEYED_SQL)).getRows().flat(), [
          "tributary.load_ledger",
        ]);
        const model = KEYED.find((t) => t.schema === "analytics")!;
        const count = await db.connection.runAndReadAll(`SELECT COUNT(*) FROM ${qualifiedName(model)}`);
        assert.strictEqual(Number(count.getRows()[0][0]), 1);
        // Every view still reads (they bind tables by name).
        for (const statement of warehouseDdl("duckdb", DATASETS).filter((s) =>
          s.startsWith("CREATE OR REPLACE VIEW"),
        )) {
          const view = /VIEW ([a-z_.]+)/.exec(statement)![1];
          await db.connection.runAndReadAll(`SELECT COUNT(*) FROM ${view}`);
        }
      } finally {
        db.close();
      }
    } finally {
      await fs.rm(lakeDir, { recursive: true, force: true });
    }
  });
});
