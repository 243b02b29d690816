import type { Column } from "../datasets/types";
import { TributaryError } from "../errors";
import { PARQUET_GLUE_FORMATS } from "../spec/delivery";
import type { DatasetLookup, ExportPartition, Model, TableExport } from "./models/types";
import { sqlIdentifier, sqlString, sqlTimestamp } from "./sql";
import { SCHEMAS, qualifiedName, type TableColumn, type TableSpec } from "./tables";

/**
 * The star schemas in the lake: after a refresh changes a model table that the model exports, the
 * loader writes it as Parquet under `analytics/<model>/<table>/` (Hive partitions for large tables),
 * where a Glue table of the same name lets Athena query it. Which tables and partitions changed is
 * recorded in `tributary.pending_exports` by the load's own transaction (so it commits or rolls back
 * with the data), and the export runs after the commit: Redshift as UNLOAD, DuckDB as COPY … TO.
 * A pending row is deleted only after its export succeeded, so a failed export is retried by the
 * next loader run that reaches the warehouse, and never lost.
 */

export const ANALYTICS_PREFIX = "analytics/";

/** Marks every partition of a partitioned table (a refresh that names no changed rows). */
export const ALL_PARTITIONS = "*";

/** `tributary.pending_exports`: one row per (table, partition) a committed load changed and the lake does not have yet. */
export const PENDING_EXPORTS_TABLE: TableSpec = {
  schema: SCHEMAS.tributary,
  name: "pending_exports",
  columns: [
    { name: "model", type: "string" },
    { name: "table_name", type: "string" },
    /** `year=2018/month=11`; `''` for a table without partitions; `*` for every partition. */
    { name: "partition_path", type: "string" },
    { name: "load_id", type: "string" },
    { name: "recorded_at", type: "timestamp" },
  ],
  sortKey: ["model", "table_name"],
};

/** One exported table: where it goes, what its files hold, how it is partitioned. */
export interface ExportTarget {
  readonly model: string;
  readonly table: TableSpec;
  /** `analytics/<model>/<table>/` in the lake bucket. */
  readonly prefix: string;
  /** The columns inside the Parquet files: the table's, minus those that are partitions. */
  readonly columns: readonly TableColumn[];
  readonly partitions: readonly ExportPartition[];
  readonly declaration: TableExport;
}

/** Every export of `models`, checked: a table of the model, identifiers both warehouses and Athena accept. */
export function exportTargetsOf(models: readonly Model[]): ExportTarget[] {
  const problems: string[] = [];
  const targets: ExportTarget[] = [];
  const seen = new Map<string, string>();
  for (const model of models) {
    for (const declaration of model.exports ?? []) {
      const table = model.tables.find((t) => t.name === declaration.table);
      if (!table) {
        problems.push(
          `model ${model.name} exports "${declaration.table}", which is not one of its tables (${model.tables.map((t) => t.name).join(", ") || "none"})`,
        );
        continue;
      }
      // One Glue database holds every exported table under the table's own name.
      const other = seen.get(table.name);
      if (other !== undefined) {
        problems.push(`models ${other} and ${model.name} both export a table named ${table.name}; rename one`);
      }
      seen.set(table.name, model.name);
      const partitions = declaration.partitionBy ?? [];
      for (const p of partitions) {
        if (!/^[a-z_][a-z0-9_]*$/.test(p.name))
          problems.push(`${model.name}.${table.name}: partition "${p.name}" is not snake_case`);
        if (!(Number.isInteger(p.range[0]) && Number.isInteger(p.range[1]) && p.range[0] <= p.range[1])) {
          problems.push(
            `${model.name}.${table.name}: partition ${p.name} has range ${JSON.stringify(p.range)}; give [low, high] integers`,
          );
        }
      }
      const partitionNames = new Set(partitions.map((p) => p.name));
      const columns = table.columns.filter((c) => !partitionNames.has(c.name));
      if (columns.length === 0)
        problems.push(`${model.name}.${table.name}: every column is a partition; Parquet files need one`);
      targets.push({
        model: model.name,
        table,
        prefix: `${ANALYTICS_PREFIX}${model.name}/${table.name}/`,
        columns,
        partitions,
        declaration,
      });
    }
  }
  if (problems.length > 0) {
    throw new TributaryError("TRIBUTARY_BAD_MODEL_EXPORT", `Model exports: ${problems.join("; ")}.`);
  }
  return targets;
}

/** The analytics tables a list of refresh statements writes (INSERT INTO / DELETE FROM analytics.x). */
export function tablesWrittenBy(statements: readonly string[]): Set<string> {
  const written = new Set<string>();
  const pattern = new RegExp(
    `\\b(?:INSERT\\s+INTO|DELETE\\s+FROM|UPDATE)\\s+${SCHEMAS.analytics}\\.("?)([a-z_][a-z0-9_]*)\\1`,
    "gi",
  );
  for (const sql of statements) for (const m of sql.matchAll(pattern)) written.add(m[2]);
  return written;
}

/** `year=2018/month=11` for the row under alias `t`; Redshift's name for a null value, so both engines agree. */
export function partitionPathExpression(partitions: readonly ExportPartition[]): string {
  return partitions
    .map(
      (p) => `'${sqlIdentifier(p.name)}=' || COALESCE(CAST(${p.expression} AS VARCHAR), '__HIVE_DEFAULT_PARTITION__')`,
    )
    .join(" || '/' || ");
}

interface PendingContext {
  readonly loadId: string;
  readonly loadedAt: Date;
}

/**
 * The statements that record, in the load's transaction, which exported tables (and partitions)
 * `model`'s refresh for `dataset` changes. `after` runs right after the refresh. A partitioned table
 * whose refresh names its changed rows records only their partitions; but a table that was empty
 * before the refresh (a first load, or a table added to a warehouse whose sources already held rows
 * and filled whole from them) changed everywhere, so `before`, run right before the refresh, records
 * it whole while it is still empty: its lake copy is rewritten with every row and nothing older. Both
 * engines answer that guard without reading the table beyond its first row.
 */
export function pendingExportStatements(
  model: Model,
  dataset: string,
  refresh: readonly string[],
  lookup: DatasetLookup,
  load: PendingContext,
): { readonly before: string[]; readonly after: string[] } {
  const written = tablesWrittenBy(refresh);
  const before: string[] = [];
  const after: string[] = [];
  const into = `INSERT INTO ${qualifiedName(PENDING_EXPORTS_TABLE)} (model, table_name, partition_path, load_id, recorded_at)`;
  const constants = (target: ExportTarget, path: string) =>
    `${sqlString(target.model, "model")}, ${sqlString(target.table.name, "table")}, ${sqlString(path, "partition")}, ${sqlString(load.loadId, "load id")}, ${sqlTimestamp(load.loadedAt)}`;
  for (const target of exportTargetsOf([model])) {
    if (!written.has(target.table.name)) continue;
    if (target.partitions.length === 0) {
      after.push(`${into}\nVALUES (${constants(target, "")})`);
      continue;
    }
    const changed = target.declaration.changedRows?.[dataset];
    if (changed === undefined) {
      after.push(`${into}\nVALUES (${constants(target, ALL_PARTITIONS)})`);
      continue;
    }
    before.push(`${into}
SELECT ${constants(target, ALL_PARTITIONS)}
WHERE NOT EXISTS (SELECT 1 FROM ${qualifiedName(target.table)})`);
    const predicate = typeof changed === "function" ? changed(lookup) : changed;
    after.push(`${into}
SELECT DISTINCT ${sqlString(target.model, "model")}, ${sqlString(target.table.name, "table")}, ${partitionPathExpression(target.partitions)}, ${sqlString(load.loadId, "load id")}, ${sqlTimestamp(load.loadedAt)}
FROM ${qualifiedName(target.table)} t
WHERE ${predicate}`);
  }
  return { before, after };
}

/** What one export run writes for one table: every partition, or the listed ones. */
export interface PendingExport {
  readonly target: ExportTarget;
  /** Undefined: the whole table (unpartitioned, or every partition). */
  readonly partitionPaths?: readonly string[];
  /** The pending rows this export settles, by load id. */
  readonly loadIds: readonly string[];
}

export const PENDING_EXPORTS_SQL = `SELECT DISTINCT model, table_name, partition_path, load_id FROM ${qualifiedName(PENDING_EXPORTS_TABLE)} ORDER BY model, table_name, partition_path, load_id`;

/** Groups pending rows by table; rows of tables no longer exported are settled with nothing to write. */
export function groupPendingExports(
  rows: ReadonlyArray<readonly [unknown, unknown, unknown, unknown]>,
  targets: readonly ExportTarget[],
): { due: PendingExport[]; orphans: Array<{ model: string; table: string; loadIds: string[] }> } {
  const byTable = new Map<string, { model: string; table: string; paths: Set<string>; loadIds: Set<string> }>();
  for (const [model, table, path, loadId] of rows) {
    const key = `${String(model)}.${String(table)}`;
    const entry = byTable.get(key) ?? {
      model: String(model),
      table: String(table),
      paths: new Set(),
      loadIds: new Set(),
    };
    entry.paths.add(String(path ?? ""));
    entry.loadIds.add(String(loadId));
    byTable.set(key, entry);
  }
  const due: PendingExport[] = [];
  const orphans: Array<{ model: string; table: string; loadIds: string[] }> = [];
  for (const entry of byTable.values()) {
    const target = targets.find((t) => t.model === entry.model && t.table.name === entry.table);
    const loadIds = [...entry.loadIds].sort();
    if (!target) {
      orphans.push({ model: entry.model, table: entry.table, loadIds });
      continue;
    }
    const whole = target.partitions.length === 0 || entry.paths.has(ALL_PARTITIONS) || entry.paths.has("");
    due.push({ target, loadIds, ...(whole ? {} : { partitionPaths: [...entry.paths].sort() }) });
  }
  return { due, orphans };
}

const CALENDAR = ["year", "month", "day"] as const;

/**
 * `t.<column> >= <start> AND t.<column> < <end> AND `, the time span of `paths` when the target declares
 * `partitionTime` (`year=2024/month=4/day=25` spans that day); `''` otherwise, or for `*`.
 */
export function partitionTimeSpan(target: ExportTarget, paths: readonly string[]): string {
  const column = target.declaration.partitionTime;
  if (column === undefined || paths.length === 0) return "";
  const type = target.table.columns.find((c) => c.name === column)?.type;
  const names = target.partitions.map((p) => p.name);
  if ((type !== "timestamp" && type !== "date") || names.some((n, i) => n !== CALENDAR[i])) {
    throw new Error(
      `${target.model}.${target.table.name}: partitionTime ${column} needs a timestamp or date column and partitions named ${CALENDAR.slice(0, Math.max(1, names.length)).join(", ")}`,
    );
  }
  let start: number | undefined;
  let end: number | undefined;
  for (const path of paths) {
    const parts = path.split("/").map((segment) => Number(segment.split("=")[1]));
    if (parts.length !== names.length || parts.some((n) => !Number.isInteger(n))) return "";
    const [year, month = 1, day = 1] = parts;
    const from = Date.UTC(year, month - 1, day);
    const to =
      names.length === 1
        ? Date.UTC(year + 1, 0, 1)
        : names.length === 2
          ? Date.UTC(year, month, 1)
          : Date.UTC(year, month - 1, day + 1);
    start = start === undefined ? from : Math.min(start, from);
    end = end === undefined ? to : Math.max(end, to);
  }
  const literal = (ms: number) =>
    `${type === "date" ? "DATE" : "TIMESTAMP"} '${new Date(ms).toISOString().slice(0, 10)}'`;
  const ref = `t.${sqlIdentifier(column)}`;
  return `${ref} >= ${literal(start!)} AND ${ref} < ${literal(end!)} AND `;
}

/** The rows written to the lake: the file columns, then the partition values named as the partitions. */
export function exportSelect(target: ExportTarget, partitionPaths?: readonly string[]): string {
  const columns = [
    ...target.columns.map((c) => `t.${sqlIdentifier(c.name)}`),
    ...target.partitions.map((p) => `${p.expression} AS ${sqlIdentifier(p.name)}`),
  ];
  const where =
    partitionPaths === undefined
      ? ""
      : `\nWHERE ${partitionTimeSpan(target, partitionPaths)}${partitionPathExpression(target.partitions)} IN (${partitionPaths.map((p) => sqlString(p, "partition")).join(", ")})`;
  return `SELECT ${columns.join(", ")}\nFROM ${qualifiedName(target.table)} t${where}`;
}

/** Settles the pending rows an export wrote (rows recorded since, by later loads, stay for the next run). */
export function settlePendingSql(model: string, table: string, loadIds: readonly string[]): string {
  return `DELETE FROM ${qualifiedName(PENDING_EXPORTS_TABLE)} WHERE model = ${sqlString(model, "model")} AND table_name = ${sqlString(table, "table")} AND load_id IN (${loadIds.map((id) => sqlString(id, "load id")).join(", ")})`;
}

export interface UnloadOptions {
  readonly bucket: string;
  /** The role UNLOAD assumes (`default`: the namespace's default role). */
  readonly roleArn: string;
  /** The lake key: UNLOAD writes SSE-KMS with it, as every other object of the lake. */
  readonly kmsKeyId: string;
}

/**
 * Redshift: `UNLOAD … FORMAT AS PARQUET [PARTITION BY (…)] CLEANPATH`. CLEANPATH first removes the
 * files of the target path, and with PARTITION BY only those of the partition folders that receive
 * new files: so selecting exactly the changed partitions replaces them and leaves the rest alone
 * (Redshift's UNLOAD reference). No MANIFEST: with PARTITION BY it is written into the table's root
 * folder, where Athena would read it as a data file. Partition columns are left out of the files
 * (no INCLUDE), as Hive tables expect.
 */
export function redshiftUnloadSql(pending: PendingExport, options: UnloadOptions): string {
  const { target } = pending;
  const select = exportSelect(target, pending.partitionPaths).replace(/'/g, "''");
  const role = options.roleArn === "default" ? "default" : sqlString(options.roleArn, "UNLOAD role ARN");
  const partitionBy =
    target.partitions.length > 0
      ? ` PARTITION BY (${target.partitions.map((p) => sqlIdentifier(p.name)).join(", ")})`
      : "";
  return (
    `UNLOAD ('${select}')\nTO ${sqlString(`s3://${options.bucket}/${target.prefix}`, "export path")}\n` +
    `IAM_ROLE ${role} FORMAT AS PARQUET${partitionBy} CLEANPATH ENCRYPTED KMS_KEY_ID ${sqlString(options.kmsKeyId, "KMS key id")}`
  );
}

/** Outcome of one table's export. */
export type ExportResult =
  | { readonly ok: true; readonly model: string; readonly table: string; readonly partitions: number | "all" }
  | { readonly ok: false; readonly model: string; readonly table: string; readonly error: string };

export function exportResultOf(pending: PendingExport, error?: unknown): ExportResult {
  const base = { model: pending.target.model, table: pending.target.table.name };
  if (error !== undefined) return { ok: false, ...base, error: (error as Error).message };
  return { ok: true, ...base, partitions: pending.partitionPaths?.length ?? "all" };
}

/** The Glue table of an exported model table: same name, Parquet, partition projection when partitioned. */
export interface ExportGlueTable {
  readonly name: string;
  readonly description: string;
  readonly location: string;
  readonly columns: readonly Pick<Column, "name" | "type">[];
  readonly partitionKeys: ReadonlyArray<{ readonly name: string; readonly type: string; readonly comment: string }>;
  readonly parameters: Readonly<Record<string, string>>;
  readonly formats: typeof PARQUET_GLUE_FORMATS;
}

export function exportGlueTable(target: ExportTarget, bucket: string): ExportGlueTable {
  const location = `s3://${bucket}/${target.prefix}`;
  const parameters: Record<string, string> = { classification: "parquet", EXTERNAL: "TRUE" };
  if (target.partitions.length > 0) {
    parameters["projection.enabled"] = "true";
    parameters["storage.location.template"] =
      location + target.partitions.map((p) => `${p.name}=\${${p.name}}/`).join("");
    for (const p of target.partitions) {
      parameters[`projection.${p.name}.type`] = "integer";
      parameters[`projection.${p.name}.range`] = `${p.range[0]},${p.range[1]}`;
    }
  }
  return {
    name: target.table.name,
    description: `${target.model} model: analytics.${target.table.name}, unloaded by the loader after each refresh`,
    location,
    columns: target.columns.map((c) => ({ name: c.name, type: c.type })),
    partitionKeys: target.partitions.map((p) => ({
      name: p.name,
      type: p.type,
      comment: `partition: ${p.expression}`,
    })),
    parameters,
    formats: PARQUET_GLUE_FORMATS,
  };
}
