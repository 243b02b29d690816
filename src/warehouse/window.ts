import type { WarehouseDataset as Dataset } from "../datasets/types";
import { TributaryError } from "../errors";
import { sqlIdentifier } from "./sql";

/**
 * The re-delivery window as SQL. A load compares its batch (`staging.<dataset>`) only with the history
 * rows whose time lies in the batch's time range widened by the window, and model refreshes read only
 * that slice: both tables are sorted on that time, so Redshift's zone maps (sort key) and DuckDB's
 * skip every block outside it and a load costs what the batch spans, not what history holds.
 *
 * The bounds are scalar subqueries over staging, evaluated once per statement; both engines turn them
 * into a range filter on the scan (DuckDB reports it as a dynamic filter), so the SQL stays one text
 * for both warehouses and needs no round trip between the COPY and the upsert.
 */

/** At-least-once re-deliveries (agent restarts, shipper and Firehose retries) arrive within days. */
export const DEFAULT_REDELIVERY_DAYS = 3;

export interface ResolvedRedeliveryWindow {
  readonly column: string;
  /** How the column holds time. */
  readonly kind: "timestamp" | "date" | "epoch_millis";
  readonly windowDays: number;
}

/** The dataset's window with defaults applied (see `Dataset.redelivery`), or undefined when it has none. */
export function redeliveryWindowOf(dataset: Dataset): ResolvedRedeliveryWindow | undefined {
  if (dataset.redelivery === false) return undefined;
  const declared = dataset.redelivery;
  const column = declared?.column ?? dataset.warehouse.sortKey[0];
  const found = dataset.columns.find((c) => c.name === column);
  const kind =
    found?.type === "timestamp" || found?.type === "date"
      ? found.type
      : found?.type === "bigint" && declared
        ? "epoch_millis"
        : undefined;
  if (!declared && kind === undefined) return undefined;
  if (!found || kind === undefined) {
    throw new TributaryError(
      "TRIBUTARY_BAD_REDELIVERY_WINDOW",
      `${dataset.name}: redelivery.column "${column}" must be a timestamp, date or bigint (epoch milliseconds) column of the dataset; ` +
        `columns are ${dataset.columns.map((c) => `${c.name} (${c.type})`).join(", ")}.`,
    );
  }
  const windowDays = declared?.windowDays ?? DEFAULT_REDELIVERY_DAYS;
  if (!Number.isInteger(windowDays) || windowDays < 0) {
    throw new TributaryError(
      "TRIBUTARY_BAD_REDELIVERY_WINDOW",
      `${dataset.name}: redelivery.windowDays must be a whole number of days ≥ 0, got ${String(windowDays)}.`,
    );
  }
  return { column, kind, windowDays };
}

function shift(expression: string, window: ResolvedRedeliveryWindow, sign: "+" | "-"): string {
  if (window.windowDays === 0) return expression;
  if (window.kind === "epoch_millis") return `${expression} ${sign} ${window.windowDays * 86_400_000}`;
  // DATE ± integer days stays a DATE in both engines; a TIMESTAMP takes an INTERVAL.
  if (window.kind === "date") return `${expression} ${sign} ${window.windowDays}`;
  return `${expression} ${sign} INTERVAL '${window.windowDays} days'`;
}

function staged(dataset: Dataset, window: ResolvedRedeliveryWindow, aggregate: "MIN" | "MAX"): string {
  return `(SELECT ${aggregate}(w.${sqlIdentifier(window.column)}) FROM staging.${sqlIdentifier(dataset.name)} w)`;
}

/** The bounds of the widened batch range, as expressions of the window column's type. */
export interface WindowBounds {
  /** The window column's name. */
  readonly column: string;
  /** Oldest staged time minus the window. */
  readonly start: string;
  /** Newest staged time plus the window. */
  readonly end: string;
  /** Newest staged time minus the window: a history copy older than this is a late re-delivery. */
  readonly lateBefore: string;
  /** Oldest and newest staged time, unwidened. */
  readonly batchStart: string;
  readonly batchEnd: string;
  /**
   * The window column is part of the dedupe key, so a re-delivered copy carries the very time of the
   * staged record: the upsert needs only the batch's own range, never the widened one.
   */
  readonly timeInKey: boolean;
}

export function windowBounds(dataset: Dataset): WindowBounds | undefined {
  const window = redeliveryWindowOf(dataset);
  if (!window) return undefined;
  const batchStart = staged(dataset, window, "MIN");
  const batchEnd = staged(dataset, window, "MAX");
  return {
    column: window.column,
    start: shift(batchStart, window, "-"),
    end: shift(batchEnd, window, "+"),
    lateBefore: shift(batchEnd, window, "-"),
    batchStart,
    batchEnd,
    timeInKey: dataset.dedupeKey.includes(window.column),
  };
}

/**
 * `ref` lies within the batch's range widened by the dataset's window. `convert` maps a bound to the
 * type of `ref` when `ref` is derived from the window column (an epoch → TIMESTAMP, say). A dataset
 * without a window yields `1 = 1`: the statement reads all of history, as it must.
 */
export function inRedeliveryWindow(
  dataset: Dataset,
  ref: string,
  convert: (bound: string) => string = (b) => b,
): string {
  const bounds = windowBounds(dataset);
  return bounds ? `${ref} BETWEEN ${convert(bounds.start)} AND ${convert(bounds.end)}` : "1 = 1";
}

/**
 * `ref` is at or after the start of the widened range: for "the latest row of each key" refreshes,
 * where the latest copy may be newer than the batch.
 */
export function fromRedeliveryWindowStart(
  dataset: Dataset,
  ref: string,
  convert: (bound: string) => string = (b) => b,
): string {
  const bounds = windowBounds(dataset);
  return bounds ? `${ref} >= ${convert(bounds.start)}` : "1 = 1";
}

/**
 * `ref` (a timestamp) falls on one of the whole days the batch spans: for daily aggregates, which must
 * re-read every row of a day they rebuild. Needs a timestamp or date window column.
 */
export function onStagedDays(dataset: Dataset, ref: string): string {
  const window = redeliveryWindowOf(dataset);
  if (!window) return "1 = 1";
  if (window.kind === "epoch_millis") {
    throw new TributaryError(
      "TRIBUTARY_BAD_REDELIVERY_WINDOW",
      `${dataset.name}: onStagedDays needs a timestamp or date window column, and ${window.column} holds epoch milliseconds.`,
    );
  }
  return `${ref} >= CAST(${staged(dataset, window, "MIN")} AS DATE) AND ${ref} < CAST(${staged(dataset, window, "MAX")} AS DATE) + 1`;
}

/**
 * `ref` (a timestamp or date) falls on one of the whole days the batch's range widened by the window
 * touches: for summaries kept per day of rows that a refresh may have moved anywhere inside the window
 * (a model row whose time is derived from several history rows). Needs a timestamp or date window column.
 */
export function onWindowDays(dataset: Dataset, ref: string): string {
  const window = redeliveryWindowOf(dataset);
  const bounds = windowBounds(dataset);
  if (!window || !bounds) return "1 = 1";
  if (window.kind === "epoch_millis") {
    throw new TributaryError(
      "TRIBUTARY_BAD_REDELIVERY_WINDOW",
      `${dataset.name}: onWindowDays needs a timestamp or date window column, and ${window.column} holds epoch milliseconds.`,
    );
  }
  return `${ref} >= CAST(${bounds.start} AS DATE) AND ${ref} < CAST(${bounds.end} AS DATE) + 1`;
}

/**
 * Literal bounds for engines whose planner prunes by zone maps only on constants (DuckDB: a scalar
 * subquery becomes a join filter that still reads every block's min/max but not its skip). The
 * adapter reads the staged range once, after staging is filled, and binds it into the statements
 * that follow: the same SQL text, with each `(SELECT MIN|MAX(…) FROM staging.<dataset> w)` replaced.
 */
export function stagedRangeQuery(dataset: Dataset): string | undefined {
  const window = redeliveryWindowOf(dataset);
  if (!window) return undefined;
  const column = `w.${sqlIdentifier(window.column)}`;
  return `SELECT CAST(MIN(${column}) AS VARCHAR), CAST(MAX(${column}) AS VARCHAR) FROM staging.${sqlIdentifier(dataset.name)} w`;
}

/** `statements` with the staged MIN and MAX of the window column (as `stagedRangeQuery` returned them) inlined. */
export function bindStagedRange(
  dataset: Dataset,
  statements: readonly string[],
  range: { readonly min: string | null; readonly max: string | null },
): string[] {
  const window = redeliveryWindowOf(dataset);
  if (!window) return [...statements];
  const type = window.kind === "epoch_millis" ? "BIGINT" : window.kind === "date" ? "DATE" : "TIMESTAMP";
  const literal = (value: string | null) => {
    if (value === null) return `CAST(NULL AS ${type})`;
    if (window.kind === "epoch_millis") {
      if (!/^-?\d+$/.test(value))
        throw new Error(`${dataset.name}: staged ${window.column} ${value} is not an integer`);
      return `CAST(${value} AS BIGINT)`;
    }
    if (!/^[0-9: .+-]+$/.test(value))
      throw new Error(`${dataset.name}: staged ${window.column} ${value} is not a ${type}`);
    return `${type} '${value}'`;
  };
  const min = staged(dataset, window, "MIN");
  const max = staged(dataset, window, "MAX");
  return statements.map((s) => s.split(min).join(literal(range.min)).split(max).join(literal(range.max)));
}
