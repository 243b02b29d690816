import type { Dataset } from "./types";

/**
 * RetailRocket events.csv (seed 002): `timestamp,visitorid,event,itemid,transactionid`, epoch ms.
 * Backfills span months, so the date key is the month: a daily key would keep ~140 days × 3 events
 * active at once, close to Firehose's 500 active partitions, past which records go to errors.
 */
export const retail_events: Dataset = {
  name: "retail_events",
  description: "RetailRocket e-commerce behaviour events (view, addtocart, transaction)",
  columns: [
    { name: "event_time", type: "timestamp", comment: "event time, UTC" },
    { name: "ts", type: "bigint", comment: "event time, epoch ms as exported" },
    { name: "visitor_id", type: "bigint", comment: "visitor id" },
    { name: "event", type: "string", comment: "view | addtocart | transaction" },
    { name: "item_id", type: "bigint", comment: "item id" },
    { name: "transaction_id", type: "bigint", comment: "transaction id, transactions only" },
  ],
  source: {
    kind: "csv",
    agentProcessing: [
      { optionName: "CSVTOJSON", customFieldNames: ["timestamp", "visitorid", "event", "itemid", "transactionid"] },
    ],
    skipHeaderLines: 1,
    filePattern: "/data/retailrocket/events*.csv",
  },
  transform: "retail_events",
  partitionKeys: [
    {
      name: "month",
      jq: ".event_time[0:7]",
      fromRecord: (r) => String(r.event_time).slice(0, 7),
      projection: { type: "date", format: "yyyy-MM", range: "2015-01,NOW" },
    },
    {
      name: "event_type",
      jq: ".event",
      fromRecord: (r) => String(r.event),
      projection: { type: "enum", values: ["view", "addtocart", "transaction"] },
    },
  ],
  dedupeKey: ["ts", "visitor_id", "event", "item_id"],
  warehouse: { distKey: "item_id", sortKey: ["event_time"] },
};
