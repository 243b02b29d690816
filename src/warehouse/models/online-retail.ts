import type { WarehouseDataset } from "../../datasets/types";
import { inRedeliveryWindow, onStagedDays, onWindowDays, windowBounds } from "../window";
import type { TableColumn, TableSpec } from "../tables";
import type { ExportPartition, Model } from "./types";

/**
 * UCI Online Retail: invoice lines, invoices, customers and stock items. A cancellation (`C…`
 * invoice, negative quantities) stays a row of its own, flagged, and its negative amount nets off
 * the customer's and the stock item's totals; amounts are rounded to pence.
 */

const STAGED_INVOICES = "SELECT s.invoice_no FROM staging.ecommerce_invoices s";
const STAGED_STOCK_CODES = "SELECT s.stock_code FROM staging.ecommerce_invoices s";
const STAGED_DAYS = "SELECT CAST(s.invoice_date AS DATE) FROM staging.ecommerce_invoices s";

/** The first day of `day`'s month (a DATE in both warehouses: DATE minus whole days stays a DATE). */
const monthOf = (day: string) => `(${day} - CAST(EXTRACT(day FROM ${day}) AS INTEGER) + 1)`;

/**
 * `ref` (a DATE: a month's first day, or a day) lies in a month from `first`'s to `last`'s (DATE
 * expressions); the lower bound is on `ref` itself, so the sort key prunes the older months.
 */
const inMonths = (ref: string, first: string, last: string, refIsMonth: boolean) =>
  `${ref} >= ${monthOf(first)} AND ${refIsMonth ? ref : monthOf(ref)} <= ${last}`;

/**
 * The months from the batch's oldest to its newest (stock items: a day table rebuilt for the staged
 * days only). Not narrowed to the months of staged rows: that test hashed every staged row twice
 * (8 of 14 ms at 100k rows), and a batch spanning months it holds no rows of (a late re-delivery next
 * to new rows) only re-sums the month rows in between, a few per key and month.
 */
function inStagedMonths(invoices: WarehouseDataset, ref: string, refIsMonth: boolean): string {
  const bounds = windowBounds(invoices);
  if (!bounds) return "1 = 1";
  return inMonths(ref, `CAST(${bounds.batchStart} AS DATE)`, `CAST(${bounds.batchEnd} AS DATE)`, refIsMonth);
}

/** The months the batch's range widened by the window spans (customers: invoices move anywhere inside it). */
function inWindowMonths(invoices: WarehouseDataset, ref: string, refIsMonth: boolean): string {
  const bounds = windowBounds(invoices);
  if (!bounds) return "1 = 1";
  return inMonths(ref, `CAST(${bounds.start} AS DATE)`, `CAST(${bounds.end} AS DATE)`, refIsMonth);
}

const customersOfWindowMonths = (invoices: WarehouseDataset) =>
  `DELETE FROM analytics.customers WHERE customer_id IN (
  SELECT m.customer_id FROM analytics.customer_months m WHERE ${inWindowMonths(invoices, "m.month", true)})`;

/** The days whose invoices include one of the batch's: run before the invoices change (old days) and after (new). */
const customerDaysOfStagedInvoices = (invoices: WarehouseDataset) =>
  `DELETE FROM analytics.customer_days WHERE ${onWindowDays(invoices, "day")} AND day IN (
  SELECT CAST(i.invoice_date AS DATE) FROM analytics.invoices i
  WHERE ${inRedeliveryWindow(invoices, "i.invoice_date")} AND i.invoice_no IN (${STAGED_INVOICES}))`;

/** Tables that grow with history are exported by year and month of their time, so a load rewrites its months only. */
const byYearAndMonth = (column: string): ExportPartition[] => [
  { name: "year", type: "int", expression: `CAST(EXTRACT(year FROM t.${column}) AS INTEGER)`, range: [2000, 2099] },
  { name: "month", type: "int", expression: `CAST(EXTRACT(month FROM t.${column}) AS INTEGER)`, range: [1, 12] },
];

/**
 * Invoices and the day tables also by day: a month of a busy shop is hundreds of thousands of invoices
 * (and a month of a day table is its keys times 31), a batch spans hours.
 */
const byDay = (column: string): readonly ExportPartition[] => [
  ...byYearAndMonth(column),
  { name: "day", type: "int", expression: `CAST(EXTRACT(day FROM t.${column}) AS INTEGER)`, range: [1, 31] },
];

/**
 * The day and month tables' inserts, for the rows `where` selects (of history `h`, invoices `i` or
 * days `d`): the refresh's slice, or everything when the table is empty (see EMPTY below).
 */
const insertCustomerDays = (
  where: string,
) => `INSERT INTO analytics.customer_days (customer_id, day, country, first_invoice_at, last_invoice_at, invoices, cancellations, gross_amount, cancelled_amount, net_amount)
SELECT i.customer_id, CAST(i.invoice_date AS DATE), MAX(i.country), MIN(i.invoice_date), MAX(i.invoice_date),
  SUM(CASE WHEN i.is_cancellation THEN 0 ELSE 1 END),
  SUM(CASE WHEN i.is_cancellation THEN 1 ELSE 0 END),
  SUM(CASE WHEN i.is_cancellation THEN 0 ELSE i.net_amount END),
  SUM(CASE WHEN i.is_cancellation THEN i.net_amount ELSE 0 END),
  SUM(i.net_amount)
FROM analytics.invoices i
WHERE i.customer_id IS NOT NULL AND ${where}
GROUP BY i.customer_id, CAST(i.invoice_date AS DATE)`;

const insertCustomerMonths = (
  where: string,
) => `INSERT INTO analytics.customer_months (customer_id, month, country, first_invoice_at, last_invoice_at, invoices, cancellations, gross_amount, cancelled_amount, net_amount)
SELECT d.customer_id, ${monthOf("d.day")}, MAX(d.country), MIN(d.first_invoice_at), MAX(d.last_invoice_at),
  SUM(d.invoices), SUM(d.cancellations), SUM(d.gross_amount), SUM(d.cancelled_amount), SUM(d.net_amount)
FROM analytics.customer_days d
WHERE ${where}
GROUP BY d.customer_id, ${monthOf("d.day")}`;

const insertStockItemDays = (
  where: string,
) => `INSERT INTO analytics.stock_item_days (stock_code, day, units_sold, net_amount, first_sold_at, last_sold_at,
  last_sale_at, last_sale_invoice_no, last_sale_description, last_sale_unit_price)
SELECT totals.stock_code, totals.day, totals.units_sold, totals.net_amount, totals.first_sold_at, totals.last_sold_at,
  last_sale.invoice_date, last_sale.invoice_no, last_sale.description, last_sale.unit_price
FROM (
  SELECT h.stock_code, CAST(h.invoice_date AS DATE) AS day, SUM(h.quantity) AS units_sold,
    SUM(h.quantity * h.unit_price) AS net_amount, MIN(h.invoice_date) AS first_sold_at, MAX(h.invoice_date) AS last_sold_at
  FROM history.ecommerce_invoices h
  WHERE ${where}
  GROUP BY h.stock_code, CAST(h.invoice_date AS DATE)
) totals
LEFT JOIN (
  SELECT stock_code, day, invoice_date, invoice_no, description, unit_price
  FROM (
    SELECT h.stock_code, CAST(h.invoice_date AS DATE) AS day, h.invoice_date, h.invoice_no, h.description, h.unit_price,
      ROW_NUMBER() OVER (PARTITION BY h.stock_code, CAST(h.invoice_date AS DATE)
        ORDER BY h.invoice_date DESC, h.invoice_no DESC, h.unit_price DESC) AS rn
    FROM history.ecommerce_invoices h
    WHERE ${where}
      AND NOT h.is_cancellation
  ) ranked
  WHERE rn = 1
) last_sale ON last_sale.stock_code = totals.stock_code AND last_sale.day = totals.day`;

const insertStockItemMonths = (
  where: string,
) => `INSERT INTO analytics.stock_item_months (stock_code, month, units_sold, net_amount, first_sold_at, last_sold_at,
  last_sale_at, last_sale_invoice_no, last_sale_description, last_sale_unit_price)
SELECT totals.stock_code, totals.month, totals.units_sold, totals.net_amount, totals.first_sold_at, totals.last_sold_at,
  last_sale.last_sale_at, last_sale.last_sale_invoice_no, last_sale.last_sale_description, last_sale.last_sale_unit_price
FROM (
  SELECT d.stock_code, ${monthOf("d.day")} AS month, SUM(d.units_sold) AS units_sold, SUM(d.net_amount) AS net_amount,
    MIN(d.first_sold_at) AS first_sold_at, MAX(d.last_sold_at) AS last_sold_at
  FROM analytics.stock_item_days d
  WHERE ${where}
  GROUP BY d.stock_code, ${monthOf("d.day")}
) totals
LEFT JOIN (
  SELECT stock_code, month, last_sale_at, last_sale_invoice_no, last_sale_description, last_sale_unit_price
  FROM (
    SELECT d.stock_code, ${monthOf("d.day")} AS month, d.last_sale_at, d.last_sale_invoice_no, d.last_sale_description,
      d.last_sale_unit_price,
      ROW_NUMBER() OVER (PARTITION BY d.stock_code, ${monthOf("d.day")}
        ORDER BY d.last_sale_at DESC, d.last_sale_invoice_no DESC, d.last_sale_unit_price DESC) AS rn
    FROM analytics.stock_item_days d
    WHERE ${where} AND d.last_sale_at IS NOT NULL
  ) ranked
  WHERE rn = 1
) last_sale ON last_sale.stock_code = totals.stock_code AND last_sale.month = totals.month`;

/**
 * A summary table created after its sources held rows (a warehouse made before it existed) is filled
 * from them whole, once, before the first refresh that changes it: the guard is true only while the
 * table is empty, and both engines answer it without reading the source (DuckDB: ~1 ms at 10M rows).
 */
const EMPTY = (table: string) => `NOT EXISTS (SELECT 1 FROM analytics.${table})`;

/** What stock_item_days and stock_item_months hold per stock item and period. */
const STOCK_ITEM_SUMS: readonly TableColumn[] = [
  { name: "units_sold", type: "bigint" },
  { name: "net_amount", type: "double" },
  { name: "first_sold_at", type: "timestamp" },
  { name: "last_sold_at", type: "timestamp" },
  { name: "last_sale_at", type: "timestamp" },
  { name: "last_sale_invoice_no", type: "string" },
  { name: "last_sale_description", type: "string" },
  { name: "last_sale_unit_price", type: "double" },
];

/** What customer_days and customer_months hold per customer and period. */
const CUSTOMER_SUMS: readonly TableColumn[] = [
  { name: "country", type: "string" },
  { name: "first_invoice_at", type: "timestamp" },
  { name: "last_invoice_at", type: "timestamp" },
  { name: "invoices", type: "bigint" },
  { name: "cancellations", type: "bigint" },
  { name: "gross_amount", type: "double" },
  { name: "cancelled_amount", type: "double" },
  { name: "net_amount", type: "double" },
];

/** A summary table of `sums` per `key` and day or month, sorted on the period (which loads rebuild). */
function periodSummary(
  name: string,
  key: TableColumn,
  period: "day" | "month",
  sums: readonly TableColumn[],
): TableSpec {
  return {
    schema: "analytics",
    name,
    columns: [key, { name: period, type: "date" }, ...sums],
    sortKey: [period, key.name],
    primaryKey: [key.name, period],
  };
}

export const onlineRetailModel: Model = {
  name: "online_retail",
  description: "Online Retail: invoices, invoice items, customers, stock items, purchase history",
  datasets: ["ecommerce_invoices"],
  tables: [
    {
      schema: "analytics",
      name: "invoices",
      columns: [
        { name: "invoice_no", type: "string" },
        { name: "invoice_date", type: "timestamp" },
        { name: "customer_id", type: "bigint" },
        { name: "country", type: "string" },
        { name: "is_cancellation", type: "boolean" },
        { name: "line_count", type: "bigint" },
        { name: "units", type: "bigint" },
        { name: "net_amount", type: "double" },
      ],
      distKey: "invoice_no",
      sortKey: ["invoice_date"],
      primaryKey: ["invoice_no"],
    },
    {
      schema: "analytics",
      name: "customers",
      columns: [
        { name: "customer_id", type: "bigint" },
        { name: "country", type: "string" },
        { name: "first_invoice_at", type: "timestamp" },
        { name: "last_invoice_at", type: "timestamp" },
        { name: "invoices", type: "bigint" },
        { name: "cancellations", type: "bigint" },
        { name: "gross_amount", type: "double" },
        { name: "cancelled_amount", type: "double" },
        { name: "net_amount", type: "double" },
      ],
      sortKey: ["customer_id"],
      primaryKey: ["customer_id"],
    },
    {
      schema: "analytics",
      name: "stock_items",
      columns: [
        { name: "stock_code", type: "string" },
        { name: "description", type: "string" },
        { name: "last_unit_price", type: "double" },
        { name: "units_sold", type: "bigint" },
        { name: "net_amount", type: "double" },
        { name: "first_sold_at", type: "timestamp" },
        { name: "last_sold_at", type: "timestamp" },
      ],
      sortKey: ["stock_code"],
      primaryKey: ["stock_code"],
    },
    // One row per stock item and day it sold: stock_items sums these rather than all of history, so
    // a load re-reads only the days it touched (history is sorted on invoice_date). The last sale of
    // the day (latest invoice_date, then invoice_no, then unit_price, cancellations excluded) lets
    // stock_items pick the item's last sale across days as a full recompute would.
    periodSummary("stock_item_days", { name: "stock_code", type: "string" }, "day", STOCK_ITEM_SUMS),
    // The days summed by month: stock_items sums a few rows per month an item sold, and a load
    // re-sums only the months of its days, so neither grows with the days of history.
    periodSummary("stock_item_months", { name: "stock_code", type: "string" }, "month", STOCK_ITEM_SUMS),
    // One row per customer and day they invoiced, and the same by month: customers sums its months
    // rather than every invoice. A load rebuilds the days its invoices were on before and after it
    // (an invoice's date and customer come from its lines, which may move inside the re-delivery
    // window), then the months of the window. Amounts stay unrounded until customers.
    periodSummary("customer_days", { name: "customer_id", type: "bigint" }, "day", CUSTOMER_SUMS),
    periodSummary("customer_months", { name: "customer_id", type: "bigint" }, "month", CUSTOMER_SUMS),
  ],
  views: [
    {
      schema: "analytics",
      name: "invoice_items",
      select: `SELECT h.invoice_no, h.stock_code, h.description, h.quantity, h.unit_price,
  ROUND(h.quantity * h.unit_price, 2) AS line_amount, h.invoice_date, h.customer_id, h.country, h.is_cancellation
FROM history.ecommerce_invoices h`,
    },
    {
      schema: "analytics",
      name: "customer_purchase_history",
      select: `SELECT i.customer_id, i.invoice_no, i.invoice_date, i.is_cancellation, i.units, i.net_amount,
  ROW_NUMBER() OVER (PARTITION BY i.customer_id ORDER BY i.invoice_date, i.invoice_no) AS invoice_seq,
  ROUND(SUM(i.net_amount) OVER (PARTITION BY i.customer_id ORDER BY i.invoice_date, i.invoice_no
    ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW), 2) AS running_net_amount
FROM analytics.invoices i
WHERE i.customer_id IS NOT NULL`,
    },
  ],
  refresh: {
    ecommerce_invoices: (lookup) => {
      const INVOICES = lookup("ecommerce_invoices");
      return [
        // Summary tables a warehouse made before them lacks, filled from their sources first.
        insertStockItemDays(EMPTY("stock_item_days")),
        insertStockItemMonths(EMPTY("stock_item_months")),
        insertCustomerDays(EMPTY("customer_days")),
        insertCustomerMonths(EMPTY("customer_months")),
        // The customer days of the batch's invoices as they were, before the invoices change.
        customerDaysOfStagedInvoices(INVOICES),
        `DELETE FROM analytics.invoices WHERE ${inRedeliveryWindow(INVOICES, "invoice_date")} AND invoice_no IN (${STAGED_INVOICES})`,
        `INSERT INTO analytics.invoices (invoice_no, invoice_date, customer_id, country, is_cancellation, line_count, units, net_amount)
SELECT h.invoice_no, MIN(h.invoice_date), MAX(h.customer_id), MAX(h.country),
  MAX(CASE WHEN h.is_cancellation THEN 1 ELSE 0 END) = 1,
  COUNT(*), SUM(h.quantity), ROUND(SUM(h.quantity * h.unit_price), 2)
FROM history.ecommerce_invoices h
WHERE ${inRedeliveryWindow(INVOICES, "h.invoice_date")} AND h.invoice_no IN (${STAGED_INVOICES})
GROUP BY h.invoice_no`,
        // ... and as they are now; then every day of the window left without rows is rebuilt (a day
        // whose invoices have no customer rebuilds to nothing, which is what it holds).
        customerDaysOfStagedInvoices(INVOICES),
        insertCustomerDays(
          `${onWindowDays(INVOICES, "i.invoice_date")}
  AND CAST(i.invoice_date AS DATE) NOT IN (SELECT d.day FROM analytics.customer_days d WHERE ${onWindowDays(INVOICES, "d.day")})`,
        ),
        // Customers with rows in the months rebuilt are deleted before (a customer an invoice moved
        // away from is among them) and after the rebuild; every customer without a row is summed again.
        customersOfWindowMonths(INVOICES),
        `DELETE FROM analytics.customer_months WHERE ${inWindowMonths(INVOICES, "month", true)}`,
        insertCustomerMonths(inWindowMonths(INVOICES, "d.day", false)),
        customersOfWindowMonths(INVOICES),
        `INSERT INTO analytics.customers (customer_id, country, first_invoice_at, last_invoice_at, invoices, cancellations, gross_amount, cancelled_amount, net_amount)
SELECT m.customer_id, MAX(m.country), MIN(m.first_invoice_at), MAX(m.last_invoice_at),
  SUM(m.invoices), SUM(m.cancellations),
  ROUND(SUM(m.gross_amount), 2), ROUND(SUM(m.cancelled_amount), 2), ROUND(SUM(m.net_amount), 2)
FROM analytics.customer_months m
WHERE m.customer_id NOT IN (SELECT c.customer_id FROM analytics.customers c)
GROUP BY m.customer_id`,
        // The days the batch holds, re-aggregated from history (both sorted on the day/invoice_date).
        `DELETE FROM analytics.stock_item_days WHERE ${onStagedDays(INVOICES, "day")} AND day IN (${STAGED_DAYS})`,
        insertStockItemDays(
          `${onStagedDays(INVOICES, "h.invoice_date")} AND CAST(h.invoice_date AS DATE) IN (${STAGED_DAYS})`,
        ),
        // The months of those days, from their days.
        `DELETE FROM analytics.stock_item_months WHERE ${inStagedMonths(INVOICES, "month", true)}`,
        insertStockItemMonths(inStagedMonths(INVOICES, "d.day", false)),
        // Each item the batch sold, from its months: a row per month it sold, never its every sale or day.
        `DELETE FROM analytics.stock_items WHERE stock_code IN (${STAGED_STOCK_CODES})`,
        `INSERT INTO analytics.stock_items (stock_code, description, last_unit_price, units_sold, net_amount, first_sold_at, last_sold_at)
SELECT totals.stock_code, last_sale.last_sale_description, last_sale.last_sale_unit_price, totals.units_sold,
  totals.net_amount, totals.first_sold_at, totals.last_sold_at
FROM (
  SELECT m.stock_code, SUM(m.units_sold) AS units_sold, ROUND(SUM(m.net_amount), 2) AS net_amount,
    MIN(m.first_sold_at) AS first_sold_at, MAX(m.last_sold_at) AS last_sold_at
  FROM analytics.stock_item_months m
  WHERE m.stock_code IN (${STAGED_STOCK_CODES})
  GROUP BY m.stock_code
) totals
LEFT JOIN (
  SELECT stock_code, last_sale_description, last_sale_unit_price
  FROM (
    SELECT m.stock_code, m.last_sale_description, m.last_sale_unit_price,
      ROW_NUMBER() OVER (PARTITION BY m.stock_code
        ORDER BY m.last_sale_at DESC, m.last_sale_invoice_no DESC, m.last_sale_unit_price DESC) AS rn
    FROM analytics.stock_item_months m
    WHERE m.stock_code IN (${STAGED_STOCK_CODES}) AND m.last_sale_at IS NOT NULL
  ) ranked
  WHERE rn = 1
) last_sale ON last_sale.stock_code = totals.stock_code`,
      ];
    },
  },
  exports: [
    {
      table: "invoices",
      partitionBy: byDay("invoice_date"),
      partitionTime: "invoice_date",
      changedRows: {
        ecommerce_invoices: (lookup) =>
          `${inRedeliveryWindow(lookup("ecommerce_invoices"), "t.invoice_date")} AND t.invoice_no IN (${STAGED_INVOICES})`,
      },
    },
    { table: "customers" },
    { table: "stock_items" },
    {
      table: "stock_item_days",
      partitionBy: byDay("day"),
      partitionTime: "day",
      changedRows: {
        ecommerce_invoices: (lookup) =>
          `${onStagedDays(lookup("ecommerce_invoices"), "t.day")} AND t.day IN (${STAGED_DAYS})`,
      },
    },
    {
      table: "stock_item_months",
      partitionBy: byYearAndMonth("month"),
      partitionTime: "month",
      changedRows: { ecommerce_invoices: (lookup) => inStagedMonths(lookup("ecommerce_invoices"), "t.month", true) },
    },
    {
      table: "customer_days",
      partitionBy: byDay("day"),
      partitionTime: "day",
      changedRows: { ecommerce_invoices: (lookup) => onWindowDays(lookup("ecommerce_invoices"), "t.day") },
    },
    {
      table: "customer_months",
      partitionBy: byYearAndMonth("month"),
      partitionTime: "month",
      changedRows: { ecommerce_invoices: (lookup) => inWindowMonths(lookup("ecommerce_invoices"), "t.month", true) },
    },
  ],
  questions: [
    {
      id: "revenue_by_country",
      title: "Revenue by country (net, GBP)",
      sql: `SELECT country, ROUND(SUM(net_amount), 2) AS revenue
FROM {invoices}
GROUP BY country
ORDER BY revenue DESC, country
LIMIT 5`,
    },
  ],
};
