import * as assert from "assert";
import { promises as fs } from "fs";
import { loadLakeOnce, warehousePath } from "../../src/loader/duckdb";
import { openDuckdb, tempDir, writeLakeParquet } from "./lake-fixtures";

/**
 * Online retail's stock_items is summed from stock_item_months, summed from stock_item_days, which a
 * load rebuilds only for the days its batch holds; customers is summed from customer_months, summed
 * from customer_days, rebuilt for the days the batch's invoices were and are on. Over several batches
 * (new days, a day that grows, a re-delivered line inside the window and one outside it, a corrected
 * line that moves an invoice to another customer, a late line that moves an invoice to an earlier day,
 * a new month, a warehouse whose day and month tables start empty) both must equal what a full
 * recompute over all of history gives: the refreshes the model ran before it had the day and month
 * tables, run here as the reference.
 */

const FULL_RECOMPUTE = `SELECT totals.stock_code, last_sale.description, last_sale.unit_price AS last_unit_price,
  totals.units_sold, totals.net_amount, totals.first_sold_at, totals.last_sold_at
FROM (
  SELECT h.stock_code, SUM(h.quantity) AS units_sold, ROUND(SUM(h.quantity * h.unit_price), 2) AS net_amount,
    MIN(h.invoice_date) AS first_sold_at, MAX(h.invoice_date) AS last_sold_at
  FROM history.ecommerce_invoices h
  GROUP BY h.stock_code
) totals
LEFT JOIN (
  SELECT stock_code, description, unit_price
  FROM (
    SELECT h.stock_code, h.description, h.unit_price,
      ROW_NUMBER() OVER (PARTITION BY h.stock_code ORDER BY h.invoice_date DESC, h.invoice_no DESC, h.unit_price DESC) AS rn
    FROM history.ecommerce_invoices h
    WHERE NOT h.is_cancellation
  ) ranked
  WHERE rn = 1
) last_sale ON last_sale.stock_code = totals.stock_code
ORDER BY totals.stock_code`;

/** Customers as the model computed them from every invoice, with the invoices computed from every line. */
const FULL_CUSTOMERS = `SELECT i.customer_id, MAX(i.country) AS country, MIN(i.invoice_date) AS first_invoice_at,
  MAX(i.invoice_date) AS last_invoice_at,
  SUM(CASE WHEN i.is_cancellation THEN 0 ELSE 1 END) AS invoices,
  SUM(CASE WHEN i.is_cancellation THEN 1 ELSE 0 END) AS cancellations,
  ROUND(SUM(CASE WHEN i.is_cancellation THEN 0 ELSE i.net_amount END), 2) AS gross_amount,
  ROUND(SUM(CASE WHEN i.is_cancellation THEN i.net_amount ELSE 0 END), 2) AS cancelled_amount,
  ROUND(SUM(i.net_amount), 2) AS net_amount
FROM (
  SELECT h.invoice_no, MIN(h.invoice_date) AS invoice_date, MAX(h.customer_id) AS customer_id, MAX(h.country) AS country,
    MAX(CASE WHEN h.is_cancellation THEN 1 ELSE 0 END) = 1 AS is_cancellation,
    ROUND(SUM(h.quantity * h.unit_price), 2) AS net_amount
  FROM history.ecommerce_invoices h
  GROUP BY h.invoice_no
) i
WHERE i.customer_id IS NOT NULL
GROUP BY i.customer_id
ORDER BY i.customer_id`;

const CUSTOMERS = `SELECT customer_id, country, first_invoice_at, last_invoice_at, invoices, cancellations, gross_amount,
  cancelled_amount, net_amount
FROM analytics.customers ORDER BY customer_id`;

const MODEL = `SELECT stock_code, description, last_unit_price, units_sold, net_amount, first_sold_at, last_sold_at
FROM analytics.stock_items ORDER BY stock_code`;

/** Prices are binary fractions, so every order of summing gives the same double. */
function line(
  invoice: string,
  stock: string,
  quantity: number,
  at: string,
  price: number,
  description = stock,
  customer = 17850,
  country = "United Kingdom",
) {
  return {
    invoice_no: invoice,
    stock_code: stock,
    description: `${description} item`,
    quantity,
    invoice_date: at,
    unit_price: price,
    customer_id: customer,
    country,
    is_cancellation: invoice.startsWith("C"),
  };
}

describe("online retail model: stock_items and customers from day and month tables", function () {
  this.timeout(60_000);
  let lakeDir: string;
  afterEach(async () => {
    if (lakeDir) await fs.rm(lakeDir, { recursive: true, force: true });
  });

  it("equals a full recompute after every batch; a duplicate inside the window is removed, one outside it is reported", async () => {
    lakeDir = await tempDir("stock-item-days");
    const writer = await openDuckdb();
    const batches = [
      // Two days, a cancellation, the same item on two invoices.
      [
        line("536365", "85123A", 6, "2010-12-01 08:26:00", 2.5, "heart"),
        line("536365", "71053", 6, "2010-12-01 08:26:00", 3.25),
        line("536366", "85123A", 2, "2010-12-02 09:00:00", 2.75, "heart, new label"),
        line("C536379", "85123A", -1, "2010-12-02 10:00:00", 2.75),
      ],
      // Day 2 grows, day 3 is new; 536366's line comes again (inside the window: removed, not reported).
      [
        line("536366", "85123A", 2, "2010-12-02 09:00:00", 2.75, "heart, new label"),
        line("536367", "71053", 1, "2010-12-02 11:00:00", 3.5),
        line("536368", "22492", 36, "2010-12-03 08:45:00", 0.625),
        line("536369", "85123A", 4, "2010-12-03 12:00:00", 2.25, "heart"),
      ],
      // Ten days on; 536365's first line comes again, older than the window: history keeps one copy and
      // the load reports it.
      [
        line("536365", "85123A", 6, "2010-12-01 08:26:00", 2.5, "heart"),
        line("536400", "22492", 12, "2010-12-13 14:00:00", 0.75),
        line("C536401", "71053", -2, "2010-12-13 15:00:00", 3.5),
      ],
      // 536369's line corrected (same dedupe key): the invoice belongs to another customer now.
      [line("536369", "85123A", 4, "2010-12-03 12:00:00", 2.25, "heart", 12583, "France")],
      // A line of 536400 from the day before arrives: the invoice moves to 2010-12-12.
      [line("536400", "22490", 1, "2010-12-12 09:00:00", 0.5)],
      // A new month, a new customer.
      [
        line("536500", "22492", 3, "2011-01-04 10:00:00", 0.75, "22492", 12583, "France"),
        line("536501", "85123A", 1, "2011-01-05 10:00:00", 2.5, "heart", 13047),
      ],
    ];
    try {
      const reports = [];
      for (const [n, records] of batches.entries()) {
        await writeLakeParquet(
          writer.connection,
          lakeDir,
          "lake",
          `curated/ecommerce_invoices/b-${n}.parquet`,
          "ecommerce_invoices",
          records,
        );
        const report = await loadLakeOnce(lakeDir);
        assert.deepStrictEqual(
          report.results.map((r) => (r.ok ? "ok" : r.error)),
          ["ok"],
        );
        reports.push(report);
        const db = await openDuckdb(warehousePath(lakeDir));
        try {
          const full = (await db.connection.runAndReadAll(FULL_RECOMPUTE)).getRowObjectsJson();
          const model = (await db.connection.runAndReadAll(MODEL)).getRowObjectsJson();
          assert.ok(full.length > 0);
          assert.deepStrictEqual(model, full, `after batch ${n + 1}`);
          const customers = (await db.connection.runAndReadAll(CUSTOMERS)).getRowObjectsJson();
          const fullCustomers = (await db.connection.runAndReadAll(FULL_CUSTOMERS)).getRowObjectsJson();
          assert.ok(fullCustomers.length > 0);
          assert.deepStrictEqual(customers, fullCustomers, `customers after batch ${n + 1}`);
          // After batch 3 the warehouse loses its day and month tables, as one made before they existed:
          // the next load fills them from their sources before it refreshes them.
          if (n === 2) {
            for (const table of ["stock_item_days", "stock_item_months", "customer_days", "customer_months"])
              await db.connection.run(`DELETE FROM analytics.${table}`);
          }
        } finally {
          db.close();
        }
      }
      assert.deepStrictEqual(
        reports.map((r) => r.lateDuplicates),
        [{}, {}, { ecommerce_invoices: 1 }, {}, {}, {}],
      );
      assert.deepStrictEqual(
        reports.map((r) => r.historyRows.ecommerce_invoices),
        [4, 7, 9, 9, 10, 12],
      );
      const db = await openDuckdb(warehousePath(lakeDir));
      try {
        const heart = (
          await db.connection.runAndReadAll(
            "SELECT units_sold, description, last_unit_price FROM analytics.stock_items WHERE stock_code = '85123A'",
          )
        ).getRowObjectsJson();
        // 6 + 2 - 1 + 4 + 1, each line once; the last sale is 536501 in January.
        assert.deepStrictEqual(heart, [{ units_sold: "12", description: "heart item", last_unit_price: 2.5 }]);
        const days = (
          await db.connection.runAndReadAll(
            "SELECT CAST(day AS VARCHAR) AS day, units_sold FROM analytics.stock_item_days WHERE stock_code = '85123A' ORDER BY day",
          )
        ).getRowObjectsJson();
        assert.deepStrictEqual(days, [
          { day: "2010-12-01", units_sold: "6" },
          { day: "2010-12-02", units_sold: "1" },
          { day: "2010-12-03", units_sold: "4" },
          { day: "2011-01-05", units_sold: "1" },
        ]);
        const customers = (
          await db.connection.runAndReadAll(
            "SELECT customer_id, country, invoices, net_amount FROM analytics.customers ORDER BY customer_id",
          )
        ).getRowObjectsJson();
        // 536369 (9.00) moved to 12583; 536400 is 9.00 + 0.50; two cancellations net off 9.75.
        assert.deepStrictEqual(customers, [
          { customer_id: "12583", country: "France", invoices: "2", net_amount: 11.25 },
          { customer_id: "13047", country: "United Kingdom", invoices: "1", net_amount: 2.5 },
          { customer_id: "17850", country: "United Kingdom", invoices: "5", net_amount: 65.75 },
        ]);
      } finally {
        db.close();
      }
    } finally {
      writer.close();
    }
  });
});
