import type { Dataset } from "./types";

/** RetailRocket item_properties*.csv: `timestamp,itemid,property,value` (weekly snapshots). */
export const retail_item_properties: Dataset = {
  name: "retail_item_properties",
  description: "RetailRocket item property snapshots (categoryid, available, hashed properties)",
  columns: [
    { name: "event_time", type: "timestamp", comment: "snapshot time, UTC" },
    { name: "ts", type: "bigint", comment: "snapshot time, epoch ms as exported" },
    { name: "item_id", type: "bigint", comment: "item id" },
    { name: "property", type: "string", comment: "property id (hashed) or categoryid / available" },
    { name: "value", type: "string", comment: "property value" },
  ],
  source: {
    kind: "csv",
    agentProcessing: [{ optionName: "CSVTOJSON", customFieldNames: ["timestamp", "itemid", "property", "value"] }],
    skipHeaderLines: 1,
    filePattern: "/data/retailrocket/item_properties*.csv",
  },
  transform: "retail_item_properties",
  partitionKeys: [
    {
      name: "month",
      jq: ".event_time[0:7]",
      fromRecord: (r) => String(r.event_time).slice(0, 7),
      projection: { type: "date", format: "yyyy-MM", range: "2015-01,NOW" },
    },
    {
      name: "property_kind",
      jq: 'if .property == "categoryid" or .property == "available" then .property else "hashed" end',
      fromRecord: (r) => (r.property === "categoryid" || r.property === "available" ? String(r.property) : "hashed"),
      projection: { type: "enum", values: ["categoryid", "available", "hashed"] },
    },
  ],
  dedupeKey: ["ts", "item_id", "property"],
  warehouse: { distKey: "item_id", sortKey: ["item_id", "event_time"] },
};
