import type { WarehouseDataset } from "../../datasets/types";
import type { TableSpec, ViewSpec } from "../tables";

/** The warehouse's datasets by name (the model's own datasets are always there). */
export type DatasetLookup = (name: string) => WarehouseDataset;

/**
 * A model: tables and views derived from one or more datasets, and the SQL that refreshes them after
 * a load. All SQL is written once, in the subset Redshift and DuckDB both accept: ROW_NUMBER() in
 * subqueries instead of QUALIFY, CAST/EXTRACT/COALESCE/CASE, no dialect-only functions.
 */
export interface Model {
  readonly name: string;
  readonly description: string;
  /** Datasets the model reads; it is only created when all of them are part of the warehouse. */
  readonly datasets: readonly string[];
  readonly tables: readonly TableSpec[];
  readonly views: readonly ViewSpec[];
  /**
   * Statements run right after a dataset's rows reach `history.<dataset>`, in the same transaction,
   * keyed by dataset name. They may read `staging.<that dataset>` (the rows of this load only) to
   * limit the work to what the load touched, and any history or analytics table.
   */
  readonly refresh: Readonly<Record<string, readonly string[] | ((dataset: DatasetLookup) => readonly string[])>>;
  /** Tables written to the lake as Parquet after each refresh that changes them. @default none */
  readonly exports?: readonly TableExport[];
  /** Questions analysts ask of the model: Athena named queries, and the demo's answers. @default none */
  readonly questions?: readonly Question[];
}

/** A Hive partition of an exported table: `<name>=<value>/` folders, a Glue partition key with projection. */
export interface ExportPartition {
  readonly name: string;
  readonly type: "int" | "bigint";
  /** Its value, an SQL expression over the table's columns under alias `t` (Redshift and DuckDB alike). */
  readonly expression: string;
  /** Athena partition projection: the integer range Athena enumerates, e.g. `[2000, 2099]`. */
  readonly range: readonly [number, number];
}

/**
 * A model table written to the lake as Parquet under `analytics/<model>/<table>/` after every refresh
 * that changes it (src/warehouse/exports.ts), with a Glue table of the same name so Athena queries the
 * star schema the warehouse has.
 */
export interface TableExport {
  /** One of the model's tables. */
  readonly table: string;
  /** Hive partitions, for large tables: only the partitions a load touched are rewritten. @default none */
  readonly partitionBy?: readonly ExportPartition[];
  /**
   * For a partitioned table, per dataset: a predicate over the table (alias `t`) that holds for every
   * row that dataset's refresh may have written; the partitions of those rows are the ones rewritten.
   * A dataset whose refresh writes the table but has no entry here rewrites every partition.
   */
  readonly changedRows?: Readonly<Record<string, string | ((dataset: DatasetLookup) => string)>>;
  /**
   * The partitions are `year`, `month` (and `day`) of this timestamp or date column, in that order:
   * rewriting partitions then also filters the column to their time span, which the table's sort key
   * (Redshift) and zone maps (DuckDB) prune, instead of computing every row's partition. @default none
   */
  readonly partitionTime?: string;
}

/**
 * A question the model answers, saved as an Athena named query and printed by `tributary demo`. The
 * SQL is one text for every engine: model tables are written `{table}` and rendered as
 * `analytics."table"` on Redshift and DuckDB and as the Glue table on Athena (src/warehouse/questions.ts),
 * so it must stay in the SQL subset Redshift, DuckDB and Athena (Trino) share.
 */
export interface Question {
  /** Stable id, lower-case snake_case: the key of the demo's JSON answers and the named query's name. */
  readonly id: string;
  readonly title: string;
  readonly sql: string;
}
