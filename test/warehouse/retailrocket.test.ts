import * as assert from "assert";
import { promises as fs } from "fs";
import { loadLakeOnce, warehousePath } from "../../src/loader/duckdb";
import { openDuckdb, tempDir, writeLakeParquet } from "./lake-fixtures";

/**
 * RetailRocket's events and item properties are not in the shared samples, so this test writes a
 * small history whose answers are known by construction: the category an event gets is the item's
 * latest `categoryid` at or before the event, and re-categorising an item re-derives its events.
 */

const T = (iso: string): { event_time: string; ts: number } => ({
  event_time: iso,
  ts: Date.parse(`${iso.replace(" ", "T")}Z`),
});

describe("RetailRocket model on DuckDB", () => {
  let lakeDir: string;
  afterEach(async () => {
    if (lakeDir) await fs.rm(lakeDir, { recursive: true, force: true });
  });

  it("categorises events as of their time and builds the daily funnel per category", async () => {
    lakeDir = await tempDir("retail");
    const writer = await openDuckdb();
    const prop = (iso: string, item: number, value: string) => ({
      ...T(iso),
      item_id: item,
      property: "categoryid",
      value,
    });
    const event = (iso: string, visitor: number, kind: string, item: number, tx: number | null = null) => ({
      ...T(iso),
      visitor_id: visitor,
      event: kind,
      item_id: item,
      transaction_id: tx,
    });
    await writeLakeParquet(
      writer.connection,
      lakeDir,
      "lake",
      "curated/retail_category_tree/a.parquet",
      "retail_category_tree",
      [
        { category_id: 10, parent_id: null },
        { category_id: 11, parent_id: 10 },
        { category_id: 12, parent_id: 10 },
      ],
    );
    await writeLakeParquet(
      writer.connection,
      lakeDir,
      "lake",
      "curated/retail_item_properties/a.parquet",
      "retail_item_properties",
      [
        prop("2015-06-01 00:00:00", 1, "11"),
        prop("2015-06-03 00:00:00", 1, "12"),
        { ...T("2015-06-01 00:00:00"), item_id: 1, property: "available", value: "1" },
      ],
    );
    await writeLakeParquet(writer.connection, lakeDir, "lake", "curated/retail_events/a.parquet", "retail_events", [
      event("2015-05-31 23:00:00", 7, "view", 1),
      event("2015-06-02 10:00:00", 7, "view", 1),
      event("2015-06-02 10:05:00", 7, "addtocart", 1),
      event("2015-06-02 10:09:00", 8, "view", 1),
      event("2015-06-03 00:00:00", 7, "transaction", 1, 555),
    ]);
    writer.close();
    const first = await loadLakeOnce(lakeDir);
    assert.deepStrictEqual(
      first.results.map((r) => [r.dataset, r.ok]),
      [
        ["retail_category_tree", true],
        ["retail_events", true],
        ["retail_item_properties", true],
      ],
    );
    const db = await openDuckdb(warehousePath(lakeDir));
    try {
      const events = (
        await db.connection.runAndReadAll(
          "SELECT CAST(event_time AS VARCHAR) AS t, event, category_id FROM analytics.retail_item_events ORDER BY ts",
        )
      ).getRowObjectsJson();
      assert.deepStrictEqual(events, [
        { t: "2015-05-31 23:00:00", event: "view", category_id: null },
        { t: "2015-06-02 10:00:00", event: "view", category_id: "11" },
        { t: "2015-06-02 10:05:00", event: "addtocart", category_id: "11" },
        { t: "2015-06-02 10:09:00", event: "view", category_id: "11" },
        { t: "2015-06-03 00:00:00", event: "transaction", category_id: "12" },
      ]);
      const funnel = (
        await db.connection.runAndReadAll(
          "SELECT CAST(day AS VARCHAR) AS day, category_id, parent_category_id, views, add_to_carts, transactions, visitors FROM analytics.retail_category_funnel_daily ORDER BY day, category_id",
        )
      ).getRowObjectsJson();
      assert.deepStrictEqual(funnel, [
        {
          day: "2015-05-31",
          category_id: null,
          parent_category_id: null,
          views: "1",
          add_to_carts: "0",
          transactions: "0",
          visitors: "1",
        },
        {
          day: "2015-06-02",
          category_id: "11",
          parent_category_id: "10",
          views: "2",
          add_to_carts: "1",
          transactions: "0",
          visitors: "2",
        },
        {
          day: "2015-06-03",
          category_id: "12",
          parent_category_id: "10",
          views: "0",
          add_to_carts: "0",
          transactions: "1",
          visitors: "1",
        },
      ]);
    } finally {
      db.close();
    }
  });
});
