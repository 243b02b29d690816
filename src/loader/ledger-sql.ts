import { LATE_DUPLICATES_TABLE, LEDGER_TABLE, qualifiedName } from "../warehouse/tables";
import { sqlString, sqlTimestamp, statementBytes } from "../warehouse/sql";
import type { DatasetLoad, LakeObject } from "./plan";

/**
 * The ledger insert both adapters run inside their load transaction. Object lists are written as
 * `SELECT … UNION ALL SELECT …` rows (Redshift has no VALUES list in FROM) and cut into statements
 * below `maxStatementBytes`, because the Data API rejects a statement over 100 KB: 1,000 objects with
 * 150-byte keys make ~250 KB of SQL. Chunks stay in the same transaction, so the ledger still changes
 * all at once or not at all. The anti-join keeps a row that is already there from being inserted
 * twice (a retried run that committed before its response was lost).
 */

/** Below the Data API's 100 KB per statement, with room for multi-byte characters. */
export const DEFAULT_MAX_STATEMENT_BYTES = 90_000;

export function ledgerInsertStatements(
  load: DatasetLoad,
  loadId: string,
  loadedAt: Date,
  maxStatementBytes: number = DEFAULT_MAX_STATEMENT_BYTES,
): string[] {
  const ledger = qualifiedName(LEDGER_TABLE);
  const head =
    `INSERT INTO ${ledger} (bucket, key, etag, size_bytes, schema_version, dataset, loaded_at, load_id)\n` +
    `SELECT o.bucket, o.key, o.etag, o.size_bytes, o.schema_version, ${sqlString(load.dataset, "dataset")}, ${sqlTimestamp(loadedAt)}, ${sqlString(loadId, "load id")}\nFROM (\n`;
  const tail = `\n) o\nWHERE NOT EXISTS (\n  SELECT 1 FROM ${ledger} l WHERE l.bucket = o.bucket AND l.key = o.key AND l.etag = o.etag\n)`;
  const budget = maxStatementBytes - statementBytes(head) - statementBytes(tail);
  const statements: string[] = [];
  let rows: string[] = [];
  let used = 0;
  for (const object of load.objects) {
    // The first row of a statement names the columns; the rest are positional.
    let row = ledgerRow(object, rows.length === 0);
    if (used + statementBytes(row) + 1 > budget && rows.length > 0) {
      statements.push(head + rows.join("\n") + tail);
      rows = [];
      used = 0;
      row = ledgerRow(object, true);
    }
    if (statementBytes(row) + 1 > budget) {
      throw new Error(`s3://${object.bucket}/${object.key}: one ledger row exceeds the statement size limit`);
    }
    rows.push(row);
    used += statementBytes(row) + 1;
  }
  if (rows.length > 0) statements.push(head + rows.join("\n") + tail);
  return statements;
}

function ledgerRow(object: LakeObject, first: boolean): string {
  const values = [
    sqlString(object.bucket, "bucket"),
    sqlString(object.key, "S3 key"),
    sqlString(object.etag, "ETag"),
    `CAST(${object.size} AS BIGINT)`,
    `CAST(${object.schemaVersion === undefined ? "NULL" : Math.trunc(object.schemaVersion)} AS INTEGER)`,
  ];
  if (!first) return `  UNION ALL SELECT ${values.join(", ")}`;
  const names = ["bucket", "key", "etag", "size_bytes", "schema_version"];
  return `  SELECT ${values.map((v, i) => `${v} AS ${names[i]}`).join(", ")}`;
}

/**
 * Per dataset, how many records the load `loadId` found already in history with a copy older than the
 * re-delivery window (see historyUpsertStatements); rows are `[dataset, count]`.
 */
export function lateDuplicateCountsSql(loadId: string): string {
  return `SELECT dataset, COUNT(*) FROM ${qualifiedName(LATE_DUPLICATES_TABLE)} WHERE load_id = ${sqlString(loadId, "load id")} GROUP BY dataset ORDER BY dataset`;
}

/** `[dataset, count]` rows → a record, as both adapters report it. */
export function lateDuplicateCounts(rows: readonly (readonly unknown[])[]): Record<string, number> {
  return Object.fromEntries(rows.map(([dataset, count]) => [String(dataset), Number(count)]));
}
