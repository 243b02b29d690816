import { strict as assert } from "assert";
import { promises as fs } from "fs";
import { allDatasets, type Dataset } from "../../src/datasets";
import { loadLakeOnce, warehousePath } from "../../src/loader/duckdb";
import { historyUpsertStatements } from "../../src/warehouse/models";
import { onWindowDays, redeliveryWindowOf } from "../../src/warehouse/window";
import { openDuckdb, tempDir, writeLakeParquet } from "./lake-fixtures";

const DATASETS = allDatasets();

/**
 * The re-delivery window: a load compares its batch only with history inside the batch's time range
 * widened by the window. A copy re-delivered within the window is removed as before; one whose earlier
 * copy is older than the window is still kept once, and is counted and reported.
 */

const DAY_MS = 86_400_000;
const T0 = Date.UTC(2024, 4, 1, 12, 0, 0);

/** A record of `dataset` whose every value derives from `n`, and whose window column holds `atMs`. */
function record(dataset: Dataset, n: number, atMs: number): Record<string, unknown> {
  const window = redeliveryWindowOf(dataset);
  const values: Record<string, unknown> = {};
  for (const c of dataset.columns) {
    const isTime = c.name === window?.column;
    const iso = new Date(isTime ? atMs : T0).toISOString();
    if (c.type === "timestamp") values[c.name] = iso.slice(0, 19).replace("T", " ");
    else if (c.type === "date") values[c.name] = iso.slice(0, 10);
    else if (c.type === "bigint") values[c.name] = isTime ? atMs : n;
    else if (c.type === "int" || c.type.startsWith("decimal")) values[c.name] = n;
    else if (c.type === "double") values[c.name] = n + 0.5;
    else if (c.type === "boolean") values[c.name] = false;
    else values[c.name] = `v${n}`;
  }
  return values;
}

const WINDOWED = DATASETS.filter((d) => redeliveryWindowOf(d) !== undefined);

describe("warehouse: the re-delivery window", function () {
  this.timeout(60_000);

  it("every dataset with a time-sorted history has a window; the upsert deletes only inside it", () => {
    assert.ok(WINDOWED.length > 0);
    for (const dataset of WINDOWED) {
      const window = redeliveryWindowOf(dataset)!;
      const [late, remove] = historyUpsertStatements(dataset, { loadId: "load-1", loadedAt: new Date(T0) });
      assert.match(late, /^INSERT INTO tributary\.late_duplicates /, dataset.name);
      assert.ok(remove.startsWith(`DELETE FROM history.${dataset.name} WHERE ${window.column} BETWEEN (SELECT MIN(`));
    }
  });

  it("onWindowDays holds for every whole day the staged range widened by the window touches", async () => {
    const timed = WINDOWED.filter((d) => redeliveryWindowOf(d)!.kind === "timestamp");
    assert.ok(timed.length > 0);
    const db = await openDuckdb();
    try {
      for (const dataset of timed) {
        const { column, windowDays } = redeliveryWindowOf(dataset)!;
        await db.connection.run("CREATE SCHEMA IF NOT EXISTS staging");
        await db.connection.run(`CREATE OR REPLACE TABLE staging.${dataset.name} (${column} TIMESTAMP)`);
        await db.connection.run(
          `INSERT INTO staging.${dataset.name} VALUES (TIMESTAMP '2024-03-10 05:00:00'), (TIMESTAMP '2024-03-11 22:00:00')`,
        );
        // Times at the first and last minute of each day of March: a day is in or out as a whole.
        const selected = (
          await db.connection.runAndReadAll(
            `SELECT DISTINCT CAST(CAST(t AS DATE) AS VARCHAR) AS day FROM (
SELECT CAST(range AS TIMESTAMP) AS t FROM range(TIMESTAMP '2024-03-01', TIMESTAMP '2024-04-01', INTERVAL 1 DAY)
UNION ALL SELECT CAST(range AS TIMESTAMP) + INTERVAL '1439 minutes' FROM range(TIMESTAMP '2024-03-01', TIMESTAMP '2024-04-01', INTERVAL 1 DAY)
) times WHERE ${onWindowDays(dataset, "t")} ORDER BY day`,
          )
        )
          .getRows()
          .map(([day]) => String(day));
        const expected: string[] = [];
        for (let ms = Date.UTC(2024, 2, 10 - windowDays); ms <= Date.UTC(2024, 2, 11 + windowDays); ms += 86_400_000)
          if (ms >= Date.UTC(2024, 2, 1) && ms < Date.UTC(2024, 3, 1))
            expected.push(new Date(ms).toISOString().slice(0, 10));
        assert.deepEqual(selected, expected, dataset.name);
        assert.equal(onWindowDays({ ...dataset, redelivery: false }, "t"), "1 = 1");
      }
    } finally {
      db.close();
    }
  });

  for (const dataset of WINDOWED) {
    it(`${dataset.name}: a copy inside the window is removed silently, one outside it is reported once`, async () => {
      const days = redeliveryWindowOf(dataset)!.windowDays;
      const lakeDir = await tempDir("redelivery");
      const writer = await openDuckdb();
      const put = (name: string, records: Record<string, unknown>[]) =>
        writeLakeParquet(
          writer.connection,
          lakeDir,
          "lake",
          `curated/${dataset.name}/${name}.parquet`,
          dataset.name,
          records,
        );
      try {
        const a = record(dataset, 1, T0);
        const b = record(dataset, 2, T0 + 3_600_000);
        const later = T0 + (days + 1) * DAY_MS;
        const c = record(dataset, 3, later);
        const d = record(dataset, 4, later + 3_600_000);

        await put("first", [a, b]);
        const first = await loadLakeOnce(lakeDir);
        assert.deepStrictEqual(first.lateDuplicates, {});

        // a comes back more than the window after the batch's newest record (c): a late re-delivery.
        await put("second", [a, c]);
        const second = await loadLakeOnce(lakeDir);
        assert.deepStrictEqual(
          second.results.map((r) => r.ok),
          [true],
        );
        assert.deepStrictEqual(second.lateDuplicates, { [dataset.name]: 1 });

        // c comes back within the window: the ordinary at-least-once case, not reported.
        await put("third", [c, d]);
        const third = await loadLakeOnce(lakeDir);
        assert.deepStrictEqual(third.lateDuplicates, {});
        assert.strictEqual(third.historyRows[dataset.name], 4);

        const db = await openDuckdb(warehousePath(lakeDir));
        try {
          const rows = (
            await db.connection.runAndReadAll(`SELECT load_id, dataset FROM tributary.late_duplicates`)
          ).getRows();
          assert.deepStrictEqual(rows, [[second.loadId, dataset.name]]);
        } finally {
          db.close();
        }
      } finally {
        writer.close();
        await fs.rm(lakeDir, { recursive: true, force: true });
      }
    });
  }
});
