/**
 * Where a load's time goes: each statement the offline loader runs, timed. `tributary load --local
 * --trace` prints them and `bench/load.ts --trace` prints the batch load's, so a load that grows with
 * history shows which statement grows (the SQL is the Redshift loader's, so the same statement is the
 * one to look at there, with SVL_QUERY_SUMMARY).
 */

export interface TraceEntry {
  /** The dataset whose load ran it; undefined for the run's own statements (DDL, ledger, exports). */
  readonly dataset?: string;
  /** What the statement does, e.g. `DELETE FROM history.orders`. */
  readonly label: string;
  readonly ms: number;
}

export type Trace = (entry: TraceEntry) => void;

/** `INSERT INTO staging.x`, `DELETE FROM history.x`, `CREATE TABLE …`, `SELECT … FROM history.x`. */
export function statementLabel(sql: string): string {
  const text = sql.replace(/\s+/g, " ").trim();
  const write =
    /^(INSERT INTO|DELETE FROM|UPDATE|CREATE (?:OR REPLACE )?(?:TABLE|VIEW|SCHEMA)(?: IF NOT EXISTS)?|ALTER TABLE|COPY|DROP TABLE(?: IF EXISTS)?) ("?[\w.]+"?(?:\."?\w+"?)?)/i.exec(
      text,
    );
  if (write) return `${write[1].toUpperCase()} ${write[2]}`;
  const from = /\bFROM ("?[\w]+"?\."?\w+"?)/i.exec(text);
  const verb = text.split(" ")[0].toUpperCase();
  return from ? `${verb} … FROM ${from[1]}` : text.slice(0, 60);
}

/** Runs `work`, reporting its time under `sql`'s label when tracing. */
export async function traced<T>(
  trace: Trace | undefined,
  sql: string,
  work: () => Promise<T>,
  dataset?: string,
): Promise<T> {
  if (!trace) return work();
  const start = process.hrtime.bigint();
  try {
    return await work();
  } finally {
    trace({ dataset, label: statementLabel(sql), ms: Number(process.hrtime.bigint() - start) / 1e6 });
  }
}

/** The entries as a table, slowest statements flagged by their share of the total. */
export function formatTrace(entries: readonly TraceEntry[]): string {
  const total = entries.reduce((sum, e) => sum + e.ms, 0);
  const lines = [`statement times (${entries.length} statements, ${total.toFixed(1)} ms in all):`];
  for (const e of entries) {
    const share = total > 0 ? (100 * e.ms) / total : 0;
    lines.push(
      `  ${e.ms.toFixed(1).padStart(9)} ms ${share.toFixed(0).padStart(3)}%  ${e.dataset ? `${e.dataset}: ` : ""}${e.label}`,
    );
  }
  return lines.join("\n") + "\n";
}
