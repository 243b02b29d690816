/**
 * Small SQL expressions the models share, each valid in Redshift and DuckDB alike.
 */

/**
 * Epoch milliseconds → TIMESTAMP. `TIMESTAMP 'epoch' + n * INTERVAL '1 second'` is Redshift's idiom and
 * DuckDB reads it too; DuckDB multiplies an INTERVAL only by a 32-bit integer, so seconds and the
 * millisecond remainder are added separately (seconds fit in INTEGER until 2038).
 */
export function epochMillisToTimestamp(ms: string): string {
  return (
    `TIMESTAMP 'epoch' + CAST((${ms} - MOD(${ms}, 1000)) / 1000 AS INTEGER) * INTERVAL '1 second'` +
    ` + CAST(MOD(${ms}, 1000) AS INTEGER) * INTERVAL '1 millisecond'`
  );
}

/** Indents a block of SQL by two spaces, for readable rendered statements. */
export function indent(sql: string): string {
  return sql
    .split("\n")
    .map((line) => (line === "" ? line : `  ${line}`))
    .join("\n");
}
