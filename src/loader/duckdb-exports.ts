import { promises as fs } from "fs";
import * as path from "path";
import type { DuckDBConnection } from "@duckdb/node-api";
import type { WarehouseDataset } from "../datasets/types";
import {
  exportResultOf,
  exportSelect,
  exportTargetsOf,
  groupPendingExports,
  PENDING_EXPORTS_SQL,
  settlePendingSql,
  type ExportResult,
  type PendingExport,
} from "../warehouse/exports";
import { modelsFor } from "../warehouse/models";
import { sqlIdentifier, sqlString } from "../warehouse/sql";
import { traced, type Trace } from "./trace";

/**
 * The offline twin of the Redshift UNLOAD (src/warehouse/exports.ts): the same pending rows, the same
 * SELECT, written by DuckDB as Parquet under `D/s3/<bucket>/analytics/<model>/<table>/`, Hive
 * partitions for partitioned tables. A run writes into a dot-folder beside the table (writers'
 * temporaries, skipped by readers) and then swaps each written partition folder in for the old one,
 * so a re-run replaces a partition and never adds a second copy of its rows.
 */

/** The folder of s3://bucket/prefix in the offline lake. */
function lakeFolder(lakeDir: string, bucket: string, prefix: string): string {
  return path.join(lakeDir, "s3", bucket, ...prefix.split("/").filter(Boolean));
}

/** Leaf folders (those holding files) under `dir`, relative to it. */
async function leafFolders(dir: string, relative = ""): Promise<string[]> {
  const entries = await fs.readdir(path.join(dir, relative), { withFileTypes: true });
  const leaves = entries.some((e) => e.isFile()) ? [relative] : [];
  for (const entry of entries) {
    if (entry.isDirectory()) leaves.push(...(await leafFolders(dir, path.join(relative, entry.name))));
  }
  return leaves;
}

/** Writes one table's pending export and swaps it into place. */
export async function writeDuckdbExport(
  connection: DuckDBConnection,
  pending: PendingExport,
  lakeDir: string,
  bucket: string,
  runId: string,
): Promise<void> {
  const { target } = pending;
  const tableDir = lakeFolder(lakeDir, bucket, target.prefix);
  const scratch = path.join(path.dirname(tableDir), `.${target.table.name}-${runId}`);
  await fs.rm(scratch, { recursive: true, force: true });
  await fs.mkdir(scratch, { recursive: true });
  try {
    const select = exportSelect(target, pending.partitionPaths);
    if (target.partitions.length === 0) {
      await connection.run(
        `COPY (${select}) TO ${sqlString(path.join(scratch, "data_0.parquet"), "export file")} (FORMAT PARQUET)`,
      );
    } else {
      const partitionBy = target.partitions.map((p) => sqlIdentifier(p.name)).join(", ");
      await connection.run(
        `COPY (${select}) TO ${sqlString(scratch, "export folder")} (FORMAT PARQUET, PARTITION_BY (${partitionBy}), OVERWRITE_OR_IGNORE)`,
      );
    }
    if (pending.partitionPaths === undefined) {
      // The whole table: the new folder replaces the old one.
      await fs.rm(tableDir, { recursive: true, force: true });
      await fs.mkdir(path.dirname(tableDir), { recursive: true });
      await fs.rename(scratch, tableDir);
      return;
    }
    // As CLEANPATH with PARTITION BY: only the partition folders that receive files are replaced.
    for (const leaf of await leafFolders(scratch)) {
      const destination = path.join(tableDir, leaf);
      await fs.rm(destination, { recursive: true, force: true });
      await fs.mkdir(path.dirname(destination), { recursive: true });
      await fs.rename(path.join(scratch, leaf), destination);
    }
  } finally {
    await fs.rm(scratch, { recursive: true, force: true });
  }
}

/**
 * Exports what `tributary.pending_exports` lists (after the loads committed), settling each table's
 * rows once its files are in place. A table that fails keeps its rows and is retried by the next run.
 */
export async function runDuckdbExports(
  connection: DuckDBConnection,
  lakeDir: string,
  bucket: string,
  datasets: readonly WarehouseDataset[],
  runId: string,
  /** Called with each table's export time (its COPY, the folder swap and settling its pending rows). */
  trace?: Trace,
): Promise<ExportResult[]> {
  const rows = (await connection.runAndReadAll(PENDING_EXPORTS_SQL)).getRows() as unknown as Array<
    [unknown, unknown, unknown, unknown]
  >;
  if (rows.length === 0) return [];
  const { due, orphans } = groupPendingExports(rows, exportTargetsOf(modelsFor(datasets)));
  for (const orphan of orphans) await connection.run(settlePendingSql(orphan.model, orphan.table, orphan.loadIds));
  const results: ExportResult[] = [];
  for (const pending of due) {
    const { target, partitionPaths } = pending;
    const what = `${target.model}.${target.table.name}, ${partitionPaths === undefined ? "whole" : `${partitionPaths.length} part.`}`;
    try {
      await traced(trace, `export ${what}`, async () => {
        await writeDuckdbExport(connection, pending, lakeDir, bucket, runId);
        await connection.run(settlePendingSql(target.model, target.table.name, pending.loadIds));
      });
      results.push(exportResultOf(pending));
    } catch (err) {
      results.push(exportResultOf(pending, err));
    }
  }
  return results;
}
