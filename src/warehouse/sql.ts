import { TributaryError } from "../errors";

/**
 * SQL text helpers shared by the Redshift and DuckDB renderers. The Data API's BatchExecuteStatement
 * takes no parameters, so values that reach SQL (S3 keys, ETags, ARNs) are inlined as literals; they
 * are checked here rather than escaped, because Redshift and DuckDB disagree on backslashes in string
 * literals and an escape that is right for one is wrong for the other.
 */

// Printable ASCII without the quote and the backslash: everything Firehose writes into an S3 key.
const SAFE_LITERAL = /^[\x20-\x26\x28-\x5b\x5d-\x7e]*$/;

/** Why `value` cannot be inlined as a string literal, or undefined when it can. */
export function unsafeLiteralReason(value: string): string | undefined {
  if (SAFE_LITERAL.test(value)) return undefined;
  return "contains a quote, a backslash or a non-printable/non-ASCII character, which Redshift and DuckDB read differently in a string literal";
}

/** `'value'`, after checking it reads the same in Redshift and DuckDB. */
export function sqlString(value: string, what: string): string {
  const reason = unsafeLiteralReason(value);
  if (reason) {
    throw new TributaryError("TRIBUTARY_UNSAFE_SQL_LITERAL", `${what} ${JSON.stringify(value)} ${reason}; rename it.`);
  }
  return `'${value}'`;
}

/** A TIMESTAMP literal in UTC, second precision, e.g. `TIMESTAMP '2024-05-01 12:00:00'`. */
export function sqlTimestamp(at: Date): string {
  return `TIMESTAMP '${at.toISOString().slice(0, 19).replace("T", " ")}'`;
}

/** A SQL identifier: lower-case snake_case only, so it never needs quoting in either warehouse. */
export function sqlIdentifier(name: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) {
    throw new TributaryError(
      "TRIBUTARY_BAD_IDENTIFIER",
      `"${name}" is not a lower-case snake_case identifier; dataset and column names must match [a-z_][a-z0-9_]*.`,
    );
  }
  return name;
}

/** UTF-8 size of a statement, the unit of the Data API's 100 KB limit. */
export function statementBytes(sql: string): number {
  return Buffer.byteLength(sql, "utf8");
}
