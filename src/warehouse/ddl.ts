import type { GlueType, WarehouseDataset as Dataset } from "../datasets/types";
import { PENDING_EXPORTS_TABLE } from "./exports";
import { modelsFor } from "./models";
import { sqlIdentifier } from "./sql";
import {
  LATE_DUPLICATES_TABLE,
  LEDGER_TABLE,
  SCHEMAS,
  historyTable,
  qualifiedName,
  stagingTable,
  type TableColumn,
  type TableSpec,
  type ViewSpec,
} from "./tables";

/**
 * Pure DDL renderers for both warehouses. Every statement is idempotent (IF NOT EXISTS, OR REPLACE),
 * so the whole list is applied before every first load and after every deploy without harm.
 */

export type Dialect = "redshift" | "duckdb";

/**
 * Glue → Redshift. Strings are VARCHAR(65535): Parquet carries no length, and a COPY that meets a
 * longer value than the column fails the whole batch; Redshift stores VARCHAR by actual length, so
 * the wide declaration costs nothing on disk (it only widens intermediate buffers).
 */
export function redshiftType(type: GlueType): string {
  switch (type) {
    case "string":
      return "VARCHAR(65535)";
    case "int":
      return "INTEGER";
    case "bigint":
      return "BIGINT";
    case "double":
      return "DOUBLE PRECISION";
    case "boolean":
      return "BOOLEAN";
    case "timestamp":
      return "TIMESTAMP";
    case "date":
      return "DATE";
    default:
      return decimalType(type);
  }
}

/** Glue → DuckDB. */
export function duckdbType(type: GlueType): string {
  switch (type) {
    case "string":
      return "VARCHAR";
    case "int":
      return "INTEGER";
    case "bigint":
      return "BIGINT";
    case "double":
      return "DOUBLE";
    case "boolean":
      return "BOOLEAN";
    case "timestamp":
      return "TIMESTAMP";
    case "date":
      return "DATE";
    default:
      return decimalType(type);
  }
}

function decimalType(type: string): string {
  const m = /^decimal\((\d+),(\d+)\)$/.exec(type);
  if (!m) throw new Error(`Unsupported Glue type "${type}"`);
  return `DECIMAL(${m[1]},${m[2]})`;
}

export function sqlType(type: GlueType, dialect: Dialect): string {
  return dialect === "redshift" ? redshiftType(type) : duckdbType(type);
}

/**
 * Redshift column compression: AZ64 for numbers and times, ZSTD for text. The leading sort key column
 * stays RAW because compressing it makes zone maps coarser and range-restricted scans read more blocks.
 */
function redshiftEncoding(column: TableColumn, table: TableSpec): string {
  if (table.sortKey?.[0] === column.name) return "RAW";
  if (column.type === "string") return "ZSTD";
  if (column.type === "boolean") return "RAW";
  return "AZ64";
}

/** Whether the warehouse declares the table's primary key (see `TableSpec.primaryKey`). */
export function declaresKey(table: TableSpec, dialect: Dialect): boolean {
  return table.primaryKey !== undefined && (dialect === "redshift" || table.enforcedOffline === true);
}

export function renderCreateTable(table: TableSpec, dialect: Dialect): string {
  const names = new Set(table.columns.map((c) => c.name));
  for (const hinted of [table.distKey, ...(table.sortKey ?? []), ...(table.primaryKey ?? [])]) {
    if (hinted !== undefined && !names.has(hinted)) {
      throw new Error(`${qualifiedName(table)}: key column "${hinted}" is not one of its columns`);
    }
  }
  const lines = table.columns.map((c) => {
    const type = sqlType(c.type, dialect);
    const encode = dialect === "redshift" ? ` ENCODE ${redshiftEncoding(c, table)}` : "";
    return `  ${sqlIdentifier(c.name)} ${type}${encode}`;
  });
  if (table.primaryKey && declaresKey(table, dialect))
    lines.push(`  PRIMARY KEY (${table.primaryKey.map(sqlIdentifier).join(", ")})`);
  let physical = "";
  if (dialect === "redshift") {
    physical += table.distKey ? `\nDISTSTYLE KEY DISTKEY (${sqlIdentifier(table.distKey)})` : "\nDISTSTYLE AUTO";
    if (table.sortKey && table.sortKey.length > 0) {
      physical += `\nCOMPOUND SORTKEY (${table.sortKey.map(sqlIdentifier).join(", ")})`;
    }
  }
  return `CREATE TABLE IF NOT EXISTS ${qualifiedName(table)} (\n${lines.join(",\n")}\n)${physical}`;
}

/** Both warehouses accept CREATE OR REPLACE VIEW; Redshift has no CREATE VIEW IF NOT EXISTS. */
export function renderCreateView(view: ViewSpec): string {
  return `CREATE OR REPLACE VIEW ${qualifiedName(view)} AS\n${view.select}`;
}

/**
 * Every DDL statement the warehouse needs, in dependency order: schemas, the ledger, staging and
 * history tables per dataset, model tables, then views (which reference tables).
 */
export function warehouseDdl(dialect: Dialect, datasets: readonly Dataset[]): string[] {
  const statements = Object.values(SCHEMAS).map((s) => `CREATE SCHEMA IF NOT EXISTS ${sqlIdentifier(s)}`);
  for (const table of warehouseTables(datasets)) statements.push(renderCreateTable(table, dialect));
  for (const model of modelsFor(datasets)) for (const view of model.views) statements.push(renderCreateView(view));
  return statements;
}

/** Every table of the warehouse, in creation order: bookkeeping, staging and history per dataset, models. */
export function warehouseTables(datasets: readonly Dataset[]): TableSpec[] {
  const tables = [LEDGER_TABLE, LATE_DUPLICATES_TABLE, PENDING_EXPORTS_TABLE];
  for (const dataset of datasets) tables.push(stagingTable(dataset), historyTable(dataset));
  for (const model of modelsFor(datasets)) tables.push(...model.tables);
  return tables;
}

/**
 * DuckDB warehouses created before keys stopped being declared offline still carry an ART index on
 * every model table, whose upkeep grows with the table. Given the tables that have a PRIMARY KEY or
 * UNIQUE constraint (from `duckdb_constraints()`), the statements that rebuild those the DDL no longer
 * keys: copied in sort-key order (so zone maps prune them), dropped, renamed back. Views bind by name
 * and survive. Run in one transaction.
 */
export function duckdbKeyMigration(
  keyed: ReadonlyArray<{ readonly schema: string; readonly name: string }>,
  datasets: readonly Dataset[],
): string[] {
  const statements: string[] = [];
  for (const table of warehouseTables(datasets)) {
    if (declaresKey(table, "duckdb")) continue;
    if (!keyed.some((k) => k.schema === table.schema && k.name === table.name)) continue;
    const name = qualifiedName(table);
    const rebuilt = `${sqlIdentifier(table.name)}__rebuild`;
    const order =
      table.sortKey && table.sortKey.length > 0 ? ` ORDER BY ${table.sortKey.map(sqlIdentifier).join(", ")}` : "";
    statements.push(
      `CREATE TABLE ${sqlIdentifier(table.schema)}.${rebuilt} AS SELECT * FROM ${name}${order}`,
      `DROP TABLE ${name}`,
      `ALTER TABLE ${sqlIdentifier(table.schema)}.${rebuilt} RENAME TO ${sqlIdentifier(table.name)}`,
    );
  }
  return statements;
}

/** The tables that have a key constraint: rows (schema, table) for `duckdbKeyMigration`. */
export const DUCKDB_KEYED_TABLES_SQL =
  "SELECT DISTINCT schema_name, table_name FROM duckdb_constraints() WHERE constraint_type IN ('PRIMARY KEY', 'UNIQUE')";
