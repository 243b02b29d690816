import type { Column, GlueType, WarehouseDataset as Dataset } from "../datasets/types";
import { sqlIdentifier } from "./sql";

/**
 * Logical table definitions shared by both warehouses. Physical design (distribution, sort keys,
 * compression) is carried as hints that only the Redshift renderer reads; DuckDB ignores them.
 */

/** The schemas the warehouse uses; created before anything else. */
export const SCHEMAS = {
  /** One batch: the rows of the objects loaded by the current run only (cleared at the start of each load). */
  staging: "staging",
  /** Every record once: staging rows upserted on the dataset's dedupe key. */
  history: "history",
  /** Models: star schemas, facts, summaries and views analysts query. */
  analytics: "analytics",
  /** Bookkeeping: the load ledger. */
  tributary: "tributary",
} as const;

export interface TableColumn {
  readonly name: string;
  readonly type: GlueType;
}

export interface TableSpec {
  readonly schema: string;
  readonly name: string;
  readonly columns: readonly TableColumn[];
  /** Redshift DISTKEY; omitted means DISTSTYLE AUTO. */
  readonly distKey?: string;
  /** Redshift COMPOUND SORTKEY. */
  readonly sortKey?: readonly string[];
  /**
   * Declared on Redshift, which uses it as a planner hint only. DuckDB would enforce it with an ART
   * index whose upkeep grows with the table, so a load into a large history or model table would cost
   * what the table holds: DuckDB declares it only for a table marked `enforcedOffline` (the ledger,
   * which grows by objects, not rows). The load SQL keeps keys unique itself.
   */
  readonly primaryKey?: readonly string[];
  /** DuckDB declares (and enforces) the primary key too. @default false */
  readonly enforcedOffline?: boolean;
}

/** A view over history or model tables, in the SQL both warehouses accept. */
export interface ViewSpec {
  readonly schema: string;
  readonly name: string;
  readonly select: string;
}

/** Name of the column history tables add: a hash of the dedupe key (see recordKeyExpression). */
export const RECORD_KEY_COLUMN = "record_key";

export function qualifiedName(table: { readonly schema: string; readonly name: string }): string {
  return `${sqlIdentifier(table.schema)}.${sqlIdentifier(table.name)}`;
}

function columnsOf(dataset: Dataset): TableColumn[] {
  return dataset.columns.map((c: Column) => ({ name: c.name, type: c.type }));
}

/**
 * `staging.<dataset>`: exactly the Glue columns, in order, because Redshift's
 * `COPY … FORMAT AS PARQUET` matches Parquet columns to table columns by position and count.
 */
export function stagingTable(dataset: Dataset): TableSpec {
  return {
    schema: SCHEMAS.staging,
    name: dataset.name,
    columns: columnsOf(dataset),
    distKey: dataset.warehouse.distKey,
    sortKey: dataset.warehouse.sortKey,
  };
}

/** `history.<dataset>`: the Glue columns plus `record_key`, one row per dedupe key. */
export function historyTable(dataset: Dataset): TableSpec {
  return {
    schema: SCHEMAS.history,
    name: dataset.name,
    columns: [...columnsOf(dataset), { name: RECORD_KEY_COLUMN, type: "string" }],
    distKey: dataset.warehouse.distKey,
    sortKey: dataset.warehouse.sortKey,
  };
}

/** `tributary.load_ledger`: one row per loaded S3 object version, keyed by (bucket, key, etag). */
export const LEDGER_TABLE: TableSpec = {
  schema: SCHEMAS.tributary,
  name: "load_ledger",
  columns: [
    { name: "bucket", type: "string" },
    { name: "key", type: "string" },
    { name: "etag", type: "string" },
    { name: "size_bytes", type: "bigint" },
    { name: "dataset", type: "string" },
    { name: "loaded_at", type: "timestamp" },
    { name: "load_id", type: "string" },
    // The dataset schema version the object's Parquet file was written with (added by evolution).
    { name: "schema_version", type: "int" },
  ],
  sortKey: ["bucket", "key"],
  primaryKey: ["bucket", "key", "etag"],
  enforcedOffline: true,
};

/**
 * `tributary.late_duplicates`: records a load found already in history although their copy there is
 * older than the batch's newest record by more than the dataset's re-delivery window. History still
 * keeps one copy; the rows are the evidence that re-deliveries arrive later than the window assumes
 * (an agent that lost its checkpoint, a replay), which the loader reports per load.
 */
export const LATE_DUPLICATES_TABLE: TableSpec = {
  schema: SCHEMAS.tributary,
  name: "late_duplicates",
  columns: [
    { name: "load_id", type: "string" },
    { name: "dataset", type: "string" },
    { name: "record_key", type: "string" },
    { name: "record_time", type: "string" },
    { name: "loaded_at", type: "timestamp" },
  ],
  sortKey: ["loaded_at"],
};

/**
 * An expression (MD5 hex) identifying a record by its dedupe key, null-safe and unambiguous: each
 * value is written as `<length>:<text>` and a null as `-`, so ('a|b', 'c') and ('a', 'b|c') differ
 * and NULL never equals ''. Comparing one non-null hash keeps upserts a plain hash join in Redshift,
 * where a null-safe OR over several columns would force a nested loop. The text form of a value may
 * differ between Redshift and DuckDB; that is harmless because a key is only ever compared within
 * one warehouse.
 */
export function recordKeyExpression(dataset: Dataset, alias: string): string {
  const parts = dataset.dedupeKey.map((name) => {
    const column = dataset.columns.find((c) => c.name === name);
    if (!column) throw new Error(`${dataset.name}: dedupe key column ${name} is not a column`);
    const ref = `${alias}.${sqlIdentifier(name)}`;
    // Redshift cannot CAST a BOOLEAN to VARCHAR.
    const text =
      column.type === "boolean"
        ? `CASE WHEN ${ref} THEN 'true' WHEN NOT ${ref} THEN 'false' END`
        : `CAST(${ref} AS VARCHAR)`;
    return `COALESCE(CAST(LENGTH(${text}) AS VARCHAR) || ':' || ${text}, '-')`;
  });
  return `MD5(${parts.join(" || '|' || ")})`;
}
