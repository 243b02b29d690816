import type { WarehouseDataset as Dataset } from "../../datasets/types";
import { historyTable, qualifiedName, recordKeyExpression, stagingTable, RECORD_KEY_COLUMN } from "../tables";
import { sqlIdentifier } from "../sql";
import { covidxModel } from "./covidx";
import { onlineRetailModel } from "./online-retail";
import { retailRocketModel } from "./retailrocket";
import { sparkifyModel } from "./sparkify";
import type { Model } from "./types";
import { weblogsModel } from "./weblogs";

export type { Model } from "./types";

/** Every model, in the order their tables are created. */
export const MODELS: readonly Model[] = [
  sparkifyModel,
  retailRocketModel,
  onlineRetailModel,
  weblogsModel,
  covidxModel,
];

/**
 * Staging → history: delete the history rows whose dedupe key this load carries, then insert one row
 * per key from staging. Delete-then-insert rather than insert-if-absent so a corrected record that is
 * re-sent replaces the old one; ROW_NUMBER() picks one of several copies deterministically.
 */
export function historyUpsertStatements(dataset: Dataset): string[] {
  const staging = qualifiedName(stagingTable(dataset));
  const history = qualifiedName(historyTable(dataset));
  const key = recordKeyExpression(dataset, "s");
  const columns = dataset.columns.map((c) => sqlIdentifier(c.name));
  const keyColumns = new Set(dataset.dedupeKey);
  const tieBreak = dataset.columns.filter((c) => !keyColumns.has(c.name)).map((c) => `keyed.${c.name}`);
  const orderBy = (tieBreak.length > 0 ? tieBreak : dataset.dedupeKey.map((k) => `keyed.${k}`)).join(", ");
  return [
    `DELETE FROM ${history} WHERE ${RECORD_KEY_COLUMN} IN (SELECT ${key} FROM ${staging} s)`,
    `INSERT INTO ${history} (${columns.join(", ")}, ${RECORD_KEY_COLUMN})
SELECT ${columns.join(", ")}, ${RECORD_KEY_COLUMN}
FROM (
  SELECT keyed.*, ROW_NUMBER() OVER (PARTITION BY keyed.${RECORD_KEY_COLUMN} ORDER BY ${orderBy}) AS rn
  FROM (
    SELECT ${columns.map((c) => `s.${c}`).join(", ")}, ${key} AS ${RECORD_KEY_COLUMN}
    FROM ${staging} s
  ) keyed
) deduplicated
WHERE rn = 1`,
  ];
}

/**
 * Everything that runs after a dataset's staging table holds this load's rows: the history upsert,
 * then every model's refresh for that dataset (only models whose datasets are all in `known`).
 */
export function transformStatementsFor(dataset: Dataset, known: ReadonlySet<string>): string[] {
  const statements = historyUpsertStatements(dataset);
  for (const model of MODELS) {
    if (!model.datasets.every((d) => known.has(d))) continue;
    const refresh = model.refresh[dataset.name] ?? [];
    statements.push(...(typeof refresh === "function" ? refresh(dataset) : refresh));
  }
  return statements;
}
