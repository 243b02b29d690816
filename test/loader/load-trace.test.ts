import { strict as assert } from "assert";
import { allDatasets } from "../../src/datasets";
import { loadLakeOnce } from "../../src/loader/duckdb";
import { formatTrace, statementLabel, type TraceEntry } from "../../src/loader/trace";
import { runCli } from "../cli/run-cli";
import { openDuckdb, tempDir, writeLakeParquet } from "../warehouse/lake-fixtures";

/**
 * `tributary load --local --trace`: every statement a load runs, with its time, so a user whose loads
 * slow down as history grows sees which statement grows.
 */

const dataset = allDatasets()[0];

/** One record with every column set (strings, numbers and times that the dataset's rules accept). */
function row(n: number): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const c of dataset.columns) {
    if (c.type === "timestamp") values[c.name] = `2024-05-01 12:00:${String(n).padStart(2, "0")}`;
    else if (c.type === "date") values[c.name] = "2024-05-01";
    else if (c.type === "boolean") values[c.name] = false;
    else if (c.type === "string") values[c.name] = `v${n}`;
    else values[c.name] = n;
  }
  return values;
}

describe("loader: --trace shows where a load's time goes", function () {
  this.timeout(60_000);

  it("labels statements by what they write or read", () => {
    assert.equal(
      statementLabel("DELETE FROM history.orders WHERE record_key IN (SELECT 1)"),
      "DELETE FROM history.orders",
    );
    assert.equal(statementLabel("INSERT INTO staging.orders (a, b)\nSELECT a, b FROM x"), "INSERT INTO staging.orders");
    assert.equal(
      statementLabel("CREATE TABLE IF NOT EXISTS history.orders (\n a INT)"),
      "CREATE TABLE IF NOT EXISTS history.orders",
    );
    assert.equal(statementLabel("SELECT MIN(w.t) FROM staging.orders w"), "SELECT … FROM staging.orders");
  });

  it(`times every statement of a load of ${dataset.name}, the staging fill and the history upsert among them`, async () => {
    const lakeDir = await tempDir("trace");
    const writer = await openDuckdb();
    try {
      await writeLakeParquet(writer.connection, lakeDir, "lake", `curated/${dataset.name}/a.parquet`, dataset.name, [
        row(1),
        row(2),
      ]);
    } finally {
      writer.close();
    }
    const entries: TraceEntry[] = [];
    const report = await loadLakeOnce(lakeDir, { trace: (e) => entries.push(e) });
    assert.ok(
      report.results.every((r) => r.ok),
      JSON.stringify(report.results),
    );
    const mine = entries.filter((e) => e.dataset === dataset.name).map((e) => e.label);
    assert.ok(mine.includes(`INSERT INTO staging.${dataset.name}`), mine.join("\n"));
    assert.ok(mine.includes(`INSERT INTO history.${dataset.name}`), mine.join("\n"));
    assert.equal(mine.at(-1), "COMMIT");
    assert.ok(entries.some((e) => e.dataset === undefined && e.label.startsWith("CREATE SCHEMA")));
    // Opening the warehouse and its checkpoint on close are part of a load's time, so they are listed too.
    assert.equal(entries[0].label, "open warehouse.duckdb");
    assert.equal(entries.at(-1)?.label, "close warehouse.duckdb (checkpoint)");
    assert.ok(entries.every((e) => Number.isFinite(e.ms) && e.ms >= 0));
    const text = formatTrace(entries);
    assert.match(text, new RegExp(`^statement times \\(${entries.length} statements, [\\d.]+ ms in all\\):`));

    // The CLI prints the same table after its report; a second run has nothing new but still its DDL.
    const cli = await runCli(["load", "--local", "--dir", lakeDir, "--trace"]);
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, /Nothing new/);
    assert.match(cli.stdout, /statement times \(\d+ statements/);
    assert.match(cli.stdout, /ms +\d+% +CREATE SCHEMA IF NOT EXISTS staging/);
  });
});
