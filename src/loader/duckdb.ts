import { createHash } from "crypto";
import { createReadStream, promises as fs } from "fs";
import * as path from "path";
import type { DuckDBConnection } from "@duckdb/node-api";
import { DuckDBInstance } from "@duckdb/node-api";
import { allDatasets } from "../datasets/catalog";
import type { WarehouseDataset } from "../datasets/types";
import { TributaryError } from "../errors";
import { duckdbType, warehouseDdl } from "../warehouse/ddl";
import {
  evolutionFor,
  ledgerEvolution,
  warehouseColumnsFromRows,
  warehouseColumnsSql,
  type WarehouseColumn,
} from "../warehouse/evolution";
import { transformStatementsFor } from "../warehouse/models";
import { sqlIdentifier, sqlString } from "../warehouse/sql";
import { LEDGER_TABLE, SCHEMAS, qualifiedName, stagingTable } from "../warehouse/tables";
import { ledgerInsertStatements } from "./ledger-sql";
import { fileColumns, withFileSchemas } from "./parquet-columns";
import { ledgerKey, planLoad, type DatasetLoad, type LakeObject, type LoadPlan } from "./plan";
import { warehouseDataset, type DatasetLoadResult } from "./redshift";
import { datasetOfKey } from "./s3-events";

/**
 * DuckDB adapter for the offline lake: the same load plan, rendered as
 * `INSERT INTO staging.<dataset> SELECT … FROM read_parquet([...])`, the same ledger rows and the same
 * model SQL, in one DuckDB transaction per dataset. The lake is a folder laid out as
 * `D/s3/<bucket>/<key>` (so s3://bucket/key is D/s3/bucket/key) and the warehouse is D/warehouse.duckdb.
 */

export const WAREHOUSE_FILE = "warehouse.duckdb";

/** Where the offline lake keeps s3://bucket/key. */
export function lakeObjectPath(lakeDir: string, bucket: string, key: string): string {
  return path.join(lakeDir, "s3", bucket, ...key.split("/"));
}

export function warehousePath(lakeDir: string): string {
  return path.join(lakeDir, WAREHOUSE_FILE);
}

/**
 * The offline ETag is the MD5 of the file, which is what S3 returns for a single-part PUT: a file
 * rewritten in place gets a new ETag and is loaded again, as it would be on AWS; size+mtime would
 * be cheaper but changes when a folder is copied, reloading everything.
 */
export async function fileEtag(file: string): Promise<string> {
  const hash = createHash("md5");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** Every `D/s3/<bucket>/<curatedPrefix><dataset>/**.parquet`, as lake objects. */
export async function discoverLakeObjects(lakeDir: string, curatedPrefix = "curated/"): Promise<LakeObject[]> {
  const root = path.join(lakeDir, "s3");
  const buckets = await fs.readdir(root, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return [];
    throw err;
  });
  const objects: LakeObject[] = [];
  for (const bucket of buckets.filter((b) => b.isDirectory())) {
    const bucketDir = path.join(root, bucket.name);
    const curatedDir = path.join(bucketDir, ...curatedPrefix.split("/").filter(Boolean));
    for (const file of await walk(curatedDir)) {
      if (!file.endsWith(".parquet")) continue;
      const key = path.relative(bucketDir, file).split(path.sep).join("/");
      const dataset = datasetOfKey(key, curatedPrefix);
      if (!dataset) continue;
      const stat = await fs.stat(file);
      objects.push({ bucket: bucket.name, key, etag: await fileEtag(file), size: stat.size, dataset });
    }
  }
  return objects;
}

async function walk(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return [];
    throw err;
  });
  const files: string[] = [];
  for (const entry of entries) {
    // Dot-files are writers' temporaries (written, then renamed into place).
    if (entry.name.startsWith(".")) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await walk(full)));
    else if (entry.isFile()) files.push(full);
  }
  return files.sort();
}

/** Pure: the statements of one dataset's load, after the transaction has begun. */
export function renderDuckdbLoad(
  plan: Pick<LoadPlan, "loadId">,
  load: DatasetLoad,
  lakeDir: string,
  loadedAt: Date,
  datasets: readonly WarehouseDataset[] = allDatasets(),
  /** Schema evolution for this dataset's tables (evolution.ts), run first in the same transaction. */
  evolution: readonly string[] = [],
): string[] {
  const dataset = warehouseDataset(datasets, load.dataset);
  const staging = qualifiedName(stagingTable(dataset));
  const files = load.objects.map((o) => sqlString(lakeObjectPath(lakeDir, o.bucket, o.key), "lake file path"));
  const names = dataset.columns.map((c) => sqlIdentifier(c.name));
  // By name, not by position: union_by_name reads files written before and after a column was added
  // together (null where a file lacks the column); a column no file of this batch has yet is selected
  // as a typed null. Objects whose columns were not read are taken to have every declared column.
  // Hive partitioning is off because partition values are already columns of the records.
  const inFiles = new Set(load.objects.flatMap((o) => o.columns ?? dataset.columns.map((c) => c.name)));
  const casts = dataset.columns.map(
    (c) => `CAST(${inFiles.has(c.name) ? sqlIdentifier(c.name) : "NULL"} AS ${duckdbType(c.type)})`,
  );
  return [
    ...evolution,
    `DELETE FROM ${staging}`,
    `INSERT INTO ${staging} (${names.join(", ")})\nSELECT ${casts.join(", ")}\nFROM read_parquet([${files.join(", ")}], hive_partitioning = false, union_by_name = true)`,
    ...ledgerInsertStatements(load, plan.loadId, loadedAt),
    ...transformStatementsFor(dataset, new Set(datasets.map((d) => d.name))),
  ];
}

export async function applyDuckdbDdl(
  connection: DuckDBConnection,
  datasets: readonly WarehouseDataset[] = allDatasets(),
): Promise<void> {
  for (const statement of warehouseDdl("duckdb", datasets)) await connection.run(statement);
  for (const statement of ledgerEvolution("duckdb", await readDuckdbColumns(connection)))
    await connection.run(statement);
}

/** The warehouse's own columns (information_schema), which schema evolution compares with the declaration. */
export async function readDuckdbColumns(connection: DuckDBConnection): Promise<WarehouseColumn[]> {
  const reader = await connection.runAndReadAll(warehouseColumnsSql(Object.values(SCHEMAS)));
  return warehouseColumnsFromRows(reader.getRows());
}

export async function readDuckdbLedger(connection: DuckDBConnection): Promise<Set<string>> {
  const reader = await connection.runAndReadAll(`SELECT bucket, key, etag FROM ${qualifiedName(LEDGER_TABLE)}`);
  return new Set(
    reader
      .getRows()
      .map(([bucket, key, etag]) => ledgerKey({ bucket: String(bucket), key: String(key), etag: String(etag) })),
  );
}

/** Runs the plan on DuckDB, one transaction per dataset; a failed dataset is rolled back and reported. */
export async function runDuckdbLoad(
  connection: DuckDBConnection,
  plan: LoadPlan,
  lakeDir: string,
  loadedAt: Date,
  datasets: readonly WarehouseDataset[] = allDatasets(),
): Promise<DatasetLoadResult[]> {
  const results: DatasetLoadResult[] = [];
  for (const planned of plan.loads) {
    let load = planned;
    try {
      const dataset = warehouseDataset(datasets, planned.dataset);
      load = await withFileSchemas(planned, dataset, (o) => fileColumns(lakeObjectPath(lakeDir, o.bucket, o.key)));
      const evolution = evolutionFor("duckdb", dataset, datasets, await readDuckdbColumns(connection));
      const statements = renderDuckdbLoad(plan, load, lakeDir, loadedAt, datasets, evolution);
      await connection.run("BEGIN TRANSACTION");
      try {
        for (const statement of statements) await connection.run(statement);
        await connection.run("COMMIT");
      } catch (err) {
        await connection.run("ROLLBACK");
        throw err;
      }
      results.push({ ok: true, dataset: load.dataset, objects: load.objects, statementId: plan.loadId });
    } catch (err) {
      results.push({
        ok: false,
        dataset: load.dataset,
        objects: load.objects,
        code: err instanceof TributaryError ? err.code : "TRIBUTARY_LOAD_FAILED",
        error: (err as Error).message,
      });
    }
  }
  return results;
}

export interface LocalLoadReport {
  readonly loadId: string;
  readonly warehouse: string;
  readonly discovered: number;
  readonly alreadyLoaded: number;
  readonly results: readonly DatasetLoadResult[];
  readonly rejected: readonly string[];
  /** Rows in history.<dataset> after the run, for every dataset that loaded. */
  readonly historyRows: Readonly<Record<string, number>>;
}

/**
 * One offline loader run: open D/warehouse.duckdb, apply the DDL, list the lake, subtract the ledger,
 * load, close. The database is opened per run (not held) because DuckDB allows one writing process
 * per file, and `tributary query --local` needs to open it between runs.
 */
export async function loadLakeOnce(lakeDir: string, now: () => Date = () => new Date()): Promise<LocalLoadReport> {
  const file = warehousePath(lakeDir);
  await fs.mkdir(lakeDir, { recursive: true });
  const instance = await DuckDBInstance.create(file);
  const connection = await instance.connect();
  try {
    await applyDuckdbDdl(connection);
    const objects = await discoverLakeObjects(lakeDir);
    const plan = planLoad(objects, await readDuckdbLedger(connection), allDatasets());
    const results = await runDuckdbLoad(connection, plan, lakeDir, now());
    const historyRows: Record<string, number> = {};
    for (const r of results) {
      if (!r.ok) continue;
      const reader = await connection.runAndReadAll(`SELECT COUNT(*) FROM history.${sqlIdentifier(r.dataset)}`);
      historyRows[r.dataset] = Number(reader.getRows()[0][0]);
    }
    return {
      loadId: plan.loadId,
      warehouse: file,
      discovered: objects.length,
      alreadyLoaded: plan.alreadyLoaded.length,
      results,
      rejected: plan.rejected.map((r) => r.reason),
      historyRows,
    };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}
