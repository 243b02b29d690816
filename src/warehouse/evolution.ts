import type { GlueType, WarehouseDataset } from "../datasets/types";
import { isWidening } from "../datasets/schema-lock";
import { TributaryError } from "../errors";
import { sqlType, type Dialect } from "./ddl";
import { MODELS } from "./models";
import { sqlIdentifier, sqlString } from "./sql";
import { historyTable, LEDGER_TABLE, qualifiedName, stagingTable, type TableSpec } from "./tables";

/**
 * Schema evolution in the warehouse. The DDL is `CREATE TABLE IF NOT EXISTS`, so a table created
 * before a column was declared never gets it from the DDL; before each load the loader reads the
 * warehouse's own columns (information_schema) and brings the dataset's tables up to the declaration:
 * `ADD COLUMN` for a new column (null in every existing row) and int → bigint widening. Both run
 * inside the load's transaction, so a failed load leaves the tables as they were.
 *
 * A removed, renamed or narrowed column never reaches here: the schema lock refuses it at plan and
 * `dataset check` (src/datasets/schema-lock.ts). A column the warehouse has and the declaration does
 * not is left alone (its rows stay queryable; new rows get null).
 */

/** One column of one warehouse table, as information_schema.columns names it. */
export interface WarehouseColumn {
  readonly schema: string;
  readonly table: string;
  readonly column: string;
  /** information_schema's data_type, lower case (e.g. "integer", "bigint", "character varying"). */
  readonly dataType: string;
}

/** The query both warehouses answer with (schema, table, column, data type) of the given schemas. */
export function warehouseColumnsSql(schemas: readonly string[]): string {
  return (
    "SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns " +
    `WHERE table_schema IN (${schemas.map((s) => sqlString(s, "schema")).join(", ")}) ` +
    "ORDER BY table_schema, table_name, ordinal_position"
  );
}

export function warehouseColumnsFromRows(rows: readonly (readonly unknown[])[]): WarehouseColumn[] {
  return rows.map(([schema, table, column, dataType]) => ({
    schema: String(schema),
    table: String(table),
    column: String(column),
    dataType: String(dataType).toLowerCase(),
  }));
}

/**
 * The tables a dataset's load writes: staging, history and every model table that reads it. (The
 * ledger, shared by every dataset, is evolved with the DDL: see `ledgerEvolution`.) A model table
 * shared by two datasets is evolved by whichever loads first, so read the warehouse's columns again
 * before each dataset.
 */
export function tablesOfDataset(dataset: WarehouseDataset, known: ReadonlySet<string>): TableSpec[] {
  const models = MODELS.filter((m) => m.datasets.includes(dataset.name) && m.datasets.every((d) => known.has(d)));
  return [stagingTable(dataset), historyTable(dataset), ...models.flatMap((m) => m.tables)];
}

/** The ledger's new columns (e.g. schema_version), applied right after the DDL. */
export function ledgerEvolution(dialect: Dialect, existing: readonly WarehouseColumn[]): string[] {
  return evolutionStatements(dialect, [LEDGER_TABLE], existing);
}

/** information_schema's name for an integer column of each warehouse. */
const INTEGER_TYPES = new Set(["integer", "int", "int4"]);

function existingGlueType(dataType: string): GlueType | undefined {
  if (INTEGER_TYPES.has(dataType)) return "int";
  if (dataType === "bigint" || dataType === "int8") return "bigint";
  return undefined;
}

/**
 * The statements that bring `tables` up to their declared columns, given what the warehouse has.
 * A table the warehouse does not have yet is skipped (the DDL creates it whole).
 */
export function evolutionStatements(
  dialect: Dialect,
  tables: readonly TableSpec[],
  existing: readonly WarehouseColumn[],
): string[] {
  const statements: string[] = [];
  for (const table of tables) {
    const have = new Map(
      existing.filter((c) => c.schema === table.schema && c.table === table.name).map((c) => [c.column, c.dataType]),
    );
    if (have.size === 0) continue;
    const name = qualifiedName(table);
    for (const column of table.columns) {
      const dataType = have.get(column.name);
      const col = sqlIdentifier(column.name);
      if (dataType === undefined) {
        // Nullable, no default: every row already there reads null, which is what "absent" meant.
        statements.push(`ALTER TABLE ${name} ADD COLUMN ${col} ${sqlType(column.type, dialect)}`);
        continue;
      }
      const from = existingGlueType(dataType);
      if (from === undefined || from === column.type || !isWidening(from, column.type)) continue;
      statements.push(...widenStatements(dialect, table, column.name, column.type));
    }
  }
  return statements;
}

function widenStatements(dialect: Dialect, table: TableSpec, column: string, to: GlueType): string[] {
  const name = qualifiedName(table);
  const col = sqlIdentifier(column);
  if (dialect === "duckdb") return [`ALTER TABLE ${name} ALTER COLUMN ${col} TYPE ${sqlType(to, dialect)}`];
  // Redshift's ALTER COLUMN … TYPE changes VARCHAR lengths only: add a wider column, copy, drop, rename
  // (all allowed in a transaction). The column moves to the end of the table, which is harmless because
  // every load names its columns. Redshift cannot drop a distribution or sort key column.
  if (table.distKey === column || table.sortKey?.includes(column) || table.primaryKey?.includes(column)) {
    throw new TributaryError(
      "TRIBUTARY_SCHEMA_INCOMPATIBLE",
      `${name}.${column} is a distribution, sort or primary key column, which Redshift cannot widen in place; declare a new bigint column and backfill it instead.`,
    );
  }
  const wide = sqlIdentifier(`${column}__widened`);
  return [
    `ALTER TABLE ${name} ADD COLUMN ${wide} ${sqlType(to, dialect)}`,
    `UPDATE ${name} SET ${wide} = ${col}`,
    `ALTER TABLE ${name} DROP COLUMN ${col}`,
    `ALTER TABLE ${name} RENAME COLUMN ${wide} TO ${col}`,
  ];
}

/** Evolution statements for one dataset's load. */
export function evolutionFor(
  dialect: Dialect,
  dataset: WarehouseDataset,
  datasets: readonly WarehouseDataset[],
  existing: readonly WarehouseColumn[],
): string[] {
  return evolutionStatements(dialect, tablesOfDataset(dataset, new Set(datasets.map((d) => d.name))), existing);
}
