import type { WarehouseDataset as Dataset } from "../../datasets/types";
import {
  historyTable,
  LATE_DUPLICATES_TABLE,
  qualifiedName,
  recordKeyExpression,
  stagingTable,
  RECORD_KEY_COLUMN,
} from "../tables";
import { pendingExportStatements } from "../exports";
import { sqlIdentifier, sqlString, sqlTimestamp } from "../sql";
import { windowBounds } from "../window";
import { covidxModel, covidxPatientsModel } from "./covidx";
import { onlineRetailModel } from "./online-retail";
import { retailRocketModel } from "./retailrocket";
import { sparkifyModel } from "./sparkify";
import type { DatasetLookup, Model } from "./types";
import { weblogsModel } from "./weblogs";

export type { Model, Question, TableExport } from "./types";

/** Every model, in the order their tables are created. */
export const MODELS: readonly Model[] = [
  sparkifyModel,
  retailRocketModel,
  onlineRetailModel,
  weblogsModel,
  covidxModel,
  covidxPatientsModel,
];

/** The models a warehouse holding `datasets` has: those whose datasets are all there. */
export function modelsFor(datasets: ReadonlyArray<{ readonly name: string }>): Model[] {
  const names = new Set(datasets.map((d) => d.name));
  return MODELS.filter((m) => m.datasets.every((d) => names.has(d)));
}

/** Which load the statements belong to: late duplicates are recorded under it. */
export interface LoadContext {
  readonly loadId: string;
  readonly loadedAt: Date;
}

/**
 * Staging → history: delete the history rows whose dedupe key this load carries, then insert one row
 * per key from staging. Delete-then-insert rather than insert-if-absent so a corrected record that is
 * re-sent replaces the old one; ROW_NUMBER() picks one of several copies deterministically.
 *
 * With a re-delivery window (src/warehouse/window.ts) the delete looks only at history rows inside the
 * batch's time range widened by the window, which the sort key prunes; before it, the copies it is
 * about to replace that are older than the batch's newest record by more than the window are written
 * to `tributary.late_duplicates`, so a re-delivery later than the window assumes is counted and
 * reported, never silently kept or silently merged.
 */
export function historyUpsertStatements(dataset: Dataset, load: LoadContext): string[] {
  const staging = qualifiedName(stagingTable(dataset));
  const history = qualifiedName(historyTable(dataset));
  const key = recordKeyExpression(dataset, "s");
  const columns = dataset.columns.map((c) => sqlIdentifier(c.name));
  const keyColumns = new Set(dataset.dedupeKey);
  const tieBreak = dataset.columns.filter((c) => !keyColumns.has(c.name)).map((c) => `keyed.${c.name}`);
  const orderBy = (tieBreak.length > 0 ? tieBreak : dataset.dedupeKey.map((k) => `keyed.${k}`)).join(", ");
  const stagedKeys = `${RECORD_KEY_COLUMN} IN (SELECT ${key} FROM ${staging} s)`;
  const bounds = windowBounds(dataset);
  const statements: string[] = [];
  // Appended in sort-key order, so each new block of history covers a narrow time range: DuckDB's
  // zone maps (min/max per row group) skip the blocks outside a window-restricted statement as
  // Redshift's sort key does.
  const sortKey = historyTable(dataset).sortKey ?? [];
  const sortedBy = sortKey.length > 0 ? `\nORDER BY ${sortKey.map(sqlIdentifier).join(", ")}` : "";
  if (bounds) {
    const time = `h.${sqlIdentifier(bounds.column)}`;
    // With the time in the dedupe key a copy has the staged record's own time: the batch's exact range
    // finds every copy, and the window only says which of them are late.
    const [from, to] = bounds.timeInKey ? [bounds.batchStart, bounds.batchEnd] : [bounds.start, bounds.end];
    statements.push(
      `INSERT INTO ${qualifiedName(LATE_DUPLICATES_TABLE)} (load_id, dataset, record_key, record_time, loaded_at)
SELECT ${sqlString(load.loadId, "load id")}, ${sqlString(dataset.name, "dataset")}, h.${RECORD_KEY_COLUMN}, CAST(${time} AS VARCHAR), ${sqlTimestamp(load.loadedAt)}
FROM ${history} h
WHERE ${time} >= ${from} AND ${time} < ${bounds.lateBefore} AND h.${stagedKeys}`,
      `DELETE FROM ${history} WHERE ${sqlIdentifier(bounds.column)} BETWEEN ${from} AND ${to} AND ${stagedKeys}`,
    );
  } else {
    statements.push(`DELETE FROM ${history} WHERE ${stagedKeys}`);
  }
  statements.push(`INSERT INTO ${history} (${columns.join(", ")}, ${RECORD_KEY_COLUMN})
SELECT ${columns.join(", ")}, ${RECORD_KEY_COLUMN}
FROM (
  SELECT keyed.*, ROW_NUMBER() OVER (PARTITION BY keyed.${RECORD_KEY_COLUMN} ORDER BY ${orderBy}) AS rn
  FROM (
    SELECT ${columns.map((c) => `s.${c}`).join(", ")}, ${key} AS ${RECORD_KEY_COLUMN}
    FROM ${staging} s
  ) keyed
) deduplicated
WHERE rn = 1${sortedBy}`);
  return statements;
}

/**
 * Everything that runs after a dataset's staging table holds this load's rows: the history upsert,
 * then every model's refresh for that dataset (only models whose datasets are all in `datasets`),
 * each followed by the record of which exported tables it changed (src/warehouse/exports.ts).
 */
export function transformStatementsFor(dataset: Dataset, datasets: readonly Dataset[], load: LoadContext): string[] {
  const statements = historyUpsertStatements(dataset, load);
  const lookup: DatasetLookup = (name) => {
    const found = datasets.find((d) => d.name === name);
    if (!found) throw new Error(`the warehouse has no dataset ${name}`);
    return found;
  };
  for (const model of modelsFor(datasets)) {
    const declared = model.refresh[dataset.name] ?? [];
    const refresh = typeof declared === "function" ? declared(lookup) : declared;
    // In the same transaction: the lake copy is brought up to date only once these rows commit.
    // Before the refresh, a table it finds empty is recorded whole; after it, what it changed.
    const pending = pendingExportStatements(model, dataset.name, refresh, lookup, load);
    statements.push(...pending.before, ...refresh, ...pending.after);
  }
  return statements;
}
