import type { Dataset } from "./types";

/** RetailRocket category_tree.csv: `categoryid,parentid`; parentid is empty for roots. */
export const retail_category_tree: Dataset = {
  name: "retail_category_tree",
  description: "RetailRocket category tree (child → parent)",
  columns: [
    { name: "category_id", type: "bigint", comment: "category id" },
    { name: "parent_id", type: "bigint", comment: "parent category id, null for a root" },
  ],
  source: {
    kind: "csv",
    agentProcessing: [{ optionName: "CSVTOJSON", customFieldNames: ["categoryid", "parentid"] }],
    skipHeaderLines: 1,
    filePattern: "/data/retailrocket/category_tree*.csv",
  },
  transform: "retail_category_tree",
  // A snapshot dimension has no time field; the only low-cardinality fact in a row is whether it is a root.
  partitionKeys: [
    {
      name: "node_kind",
      jq: 'if .parent_id == null then "root" else "child" end',
      fromRecord: (r) => (r.parent_id === null || r.parent_id === undefined ? "root" : "child"),
      projection: { type: "enum", values: ["root", "child"] },
    },
  ],
  dedupeKey: ["category_id"],
  warehouse: { sortKey: ["category_id"] },
};
