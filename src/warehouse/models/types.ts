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
}
