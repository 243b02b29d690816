import { recordKeyExpression } from "../tables";
import { inRedeliveryWindow, onStagedDays } from "../window";
import type { DatasetLookup, Model } from "./types";

/**
 * RetailRocket: every event with the category its item had when the event happened (the latest
 * `categoryid` property at or before the event; null when the item had none yet), and a daily
 * view → add-to-cart → transaction funnel per category with its parent from the category tree.
 */

function insertItemEvents(eventFilter: string): string {
  return `INSERT INTO analytics.retail_item_events (event_key, event_time, ts, visitor_id, event, item_id, transaction_id, category_id)
SELECT record_key, event_time, ts, visitor_id, event, item_id, transaction_id, category_id
FROM (
  SELECT e.record_key, e.event_time, e.ts, e.visitor_id, e.event, e.item_id, e.transaction_id,
    CAST(p.value AS BIGINT) AS category_id,
    ROW_NUMBER() OVER (PARTITION BY e.record_key ORDER BY p.ts DESC) AS rn
  FROM history.retail_events e
  LEFT JOIN history.retail_item_properties p
    ON p.item_id = e.item_id AND p.property = 'categoryid' AND p.ts <= e.ts
  WHERE ${eventFilter}
) categorised
WHERE rn = 1`;
}

function insertFunnel(dayFilter: string): string {
  return `INSERT INTO analytics.retail_category_funnel_daily (day, category_id, parent_category_id, views, add_to_carts, transactions, visitors)
SELECT CAST(e.event_time AS DATE), e.category_id, MAX(c.parent_id),
  SUM(CASE WHEN e.event = 'view' THEN 1 ELSE 0 END),
  SUM(CASE WHEN e.event = 'addtocart' THEN 1 ELSE 0 END),
  SUM(CASE WHEN e.event = 'transaction' THEN 1 ELSE 0 END),
  COUNT(DISTINCT e.visitor_id)
FROM analytics.retail_item_events e
LEFT JOIN history.retail_category_tree c ON c.category_id = e.category_id
WHERE ${dayFilter}
GROUP BY CAST(e.event_time AS DATE), e.category_id`;
}

const STAGED_DAYS = "SELECT CAST(s.event_time AS DATE) FROM staging.retail_events s";

const stagedEventKeys = (lookup: DatasetLookup) =>
  `SELECT ${recordKeyExpression(lookup("retail_events"), "s")} FROM staging.retail_events s`;

const STAGED_CATEGORY_ITEMS = "SELECT s.item_id FROM staging.retail_item_properties s WHERE s.property = 'categoryid'";

/** Categories and parents change rarely and touch any day: rebuilding the small funnel is simpler than tracking which days. */
const REBUILD_FUNNEL = ["DELETE FROM analytics.retail_category_funnel_daily", insertFunnel("1 = 1")];

export const retailRocketModel: Model = {
  name: "retailrocket",
  description: "RetailRocket events with item category, and a daily funnel per category",
  datasets: ["retail_events", "retail_item_properties", "retail_category_tree"],
  tables: [
    {
      schema: "analytics",
      name: "retail_item_events",
      columns: [
        { name: "event_key", type: "string" },
        { name: "event_time", type: "timestamp" },
        { name: "ts", type: "bigint" },
        { name: "visitor_id", type: "bigint" },
        { name: "event", type: "string" },
        { name: "item_id", type: "bigint" },
        { name: "transaction_id", type: "bigint" },
        { name: "category_id", type: "bigint" },
      ],
      distKey: "item_id",
      sortKey: ["event_time"],
      primaryKey: ["event_key"],
    },
    {
      schema: "analytics",
      name: "retail_category_funnel_daily",
      columns: [
        { name: "day", type: "date" },
        { name: "category_id", type: "bigint" },
        { name: "parent_category_id", type: "bigint" },
        { name: "views", type: "bigint" },
        { name: "add_to_carts", type: "bigint" },
        { name: "transactions", type: "bigint" },
        { name: "visitors", type: "bigint" },
      ],
      sortKey: ["day", "category_id"],
    },
  ],
  views: [
    {
      schema: "analytics",
      name: "retail_categories",
      select: "SELECT c.category_id, c.parent_id FROM history.retail_category_tree c",
    },
  ],
  refresh: {
    retail_events: (lookup) => {
      const EVENTS = lookup("retail_events");
      return [
        `DELETE FROM analytics.retail_item_events WHERE ${inRedeliveryWindow(EVENTS, "event_time")} AND event_key IN (${stagedEventKeys(lookup)})`,
        insertItemEvents(
          `${inRedeliveryWindow(EVENTS, "e.event_time")} AND e.record_key IN (${stagedEventKeys(lookup)})`,
        ),
        `DELETE FROM analytics.retail_category_funnel_daily WHERE ${onStagedDays(EVENTS, "day")} AND day IN (${STAGED_DAYS})`,
        insertFunnel(`${onStagedDays(EVENTS, "e.event_time")} AND CAST(e.event_time AS DATE) IN (${STAGED_DAYS})`),
      ];
    },
    retail_item_properties: [
      `DELETE FROM analytics.retail_item_events WHERE item_id IN (${STAGED_CATEGORY_ITEMS})`,
      insertItemEvents(`e.item_id IN (${STAGED_CATEGORY_ITEMS})`),
      ...REBUILD_FUNNEL,
    ],
    retail_category_tree: [...REBUILD_FUNNEL],
  },
  exports: [
    {
      table: "retail_item_events",
      partitionBy: [
        {
          name: "year",
          type: "int",
          expression: "CAST(EXTRACT(year FROM t.event_time) AS INTEGER)",
          range: [2000, 2099],
        },
        { name: "month", type: "int", expression: "CAST(EXTRACT(month FROM t.event_time) AS INTEGER)", range: [1, 12] },
      ],
      partitionTime: "event_time",
      changedRows: {
        retail_events: (lookup) =>
          `${inRedeliveryWindow(lookup("retail_events"), "t.event_time")} AND t.event_key IN (${stagedEventKeys(lookup)})`,
        retail_item_properties: `t.item_id IN (${STAGED_CATEGORY_ITEMS})`,
      },
    },
    { table: "retail_category_funnel_daily" },
  ],
  questions: [
    {
      id: "retail_funnel",
      title: "Retail funnel (distinct visitors)",
      sql: `SELECT event, COUNT(DISTINCT visitor_id) AS visitors
FROM {retail_item_events}
GROUP BY event
ORDER BY CASE event WHEN 'view' THEN 1 WHEN 'addtocart' THEN 2 ELSE 3 END`,
    },
    {
      id: "top_categories",
      title: "Top categories (views, add to carts, transactions)",
      sql: `SELECT category_id, SUM(views) AS views, SUM(add_to_carts) AS add_to_carts, SUM(transactions) AS transactions
FROM {retail_category_funnel_daily}
WHERE category_id IS NOT NULL
GROUP BY category_id
ORDER BY transactions DESC, views DESC, category_id
LIMIT 3`,
    },
  ],
};
