import { promises as fs } from "fs";
import * as path from "path";
import type { DuckDBConnection } from "@duckdb/node-api";
import { DuckDBInstance } from "@duckdb/node-api";
import { allDatasets } from "../datasets/catalog";
import type { WarehouseDataset } from "../datasets/types";
import { TributaryError } from "../errors";
import { DUCKDB_KEYED_TABLES_SQL, duckdbKeyMigration, duckdbType, warehouseDdl } from "../warehouse/ddl";
import { bindStagedRange, stagedRangeQuery } from "../warehouse/window";
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
import { lateDuplicateCounts, lateDuplicateCountsSql, ledgerInsertStatements } from "./ledger-sql";
import { acknowledgeAnnouncements, fileEtag, readAnnouncements } from "./announcements";
import { fileColumns, withFileSchemas } from "./parquet-columns";
import { ledgerKey, planLoad, type DatasetLoad, type LakeObject, type LoadPlan } from "./plan";
import { ledgerLookupStatements, warehouseDataset, type DatasetLoadResult } from "./redshift";
import { datasetOfKey } from "./s3-events";
import { runDuckdbExports } from "./duckdb-exports";
import type { ExportResult } from "../warehouse/exports";
import { OFFLINE_LAKE_BUCKET } from "../spec/names";
import { traced, type Trace } from "./trace";

/**
 * DuckDB adapter for the offline lake: the same load plan, rendered as
 * `INSERT INTO staging.<dataset> SELECT … FROM read_parquet([...])`, the same ledger rows and the same
 * model SQL, in one DuckDB transaction per dataset. The lake is a folder laid out as
 * `D/s3/<bucket>/<key>` (so s3://bucket/key is D/s3/bucket/key) and the warehouse is D/warehouse.duckdb.
 */

export const WAREHOUSE_FILE = "warehouse.duckdb";

export { fileEtag } from "./announcements";

/** Where the offline lake keeps s3://bucket/key. */
export function lakeObjectPath(lakeDir: string, bucket: string, key: string): string {
  return path.join(lakeDir, "s3", bucket, ...key.split("/"));
}

export function warehousePath(lakeDir: string): string {
  return path.join(lakeDir, WAREHOUSE_FILE);
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
    ...transformStatementsFor(dataset, datasets, { loadId: plan.loadId, loadedAt }),
  ];
}

export async function applyDuckdbDdl(
  connection: DuckDBConnection,
  datasets: readonly WarehouseDataset[] = allDatasets(),
  trace?: Trace,
): Promise<void> {
  const run = (sql: string) => traced(trace, sql, () => connection.run(sql));
  for (const statement of warehouseDdl("duckdb", datasets)) await run(statement);
  const keyed = (await connection.runAndReadAll(DUCKDB_KEYED_TABLES_SQL))
    .getRows()
    .map(([schema, name]) => ({ schema: String(schema), name: String(name) }));
  const migration = duckdbKeyMigration(keyed, datasets);
  if (migration.length > 0) {
    await connection.run("BEGIN TRANSACTION");
    try {
      for (const statement of migration) await run(statement);
      await connection.run("COMMIT");
    } catch (err) {
      await connection.run("ROLLBACK");
      throw err;
    }
  }
  for (const statement of ledgerEvolution("duckdb", await readDuckdbColumns(connection))) await run(statement);
}

/** The warehouse's own columns (information_schema), which schema evolution compares with the declaration. */
export async function readDuckdbColumns(connection: DuckDBConnection): Promise<WarehouseColumn[]> {
  const reader = await connection.runAndReadAll(warehouseColumnsSql(Object.values(SCHEMAS)));
  return warehouseColumnsFromRows(reader.getRows());
}

/** The ledgerKey()s of those `objects` the ledger already holds (looked up by key, the ledger's sort key). */
export async function readDuckdbLedger(
  connection: DuckDBConnection,
  objects: readonly LakeObject[],
): Promise<Set<string>> {
  const found = new Set<string>();
  for (const sql of ledgerLookupStatements(objects)) {
    const reader = await connection.runAndReadAll(sql);
    for (const [bucket, key, etag] of reader.getRows())
      found.add(ledgerKey({ bucket: String(bucket), key: String(key), etag: String(etag) }));
  }
  return found;
}

/** Runs the plan on DuckDB, one transaction per dataset; a failed dataset is rolled back and reported. */
export async function runDuckdbLoad(
  connection: DuckDBConnection,
  plan: LoadPlan,
  lakeDir: string,
  loadedAt: Date,
  datasets: readonly WarehouseDataset[] = allDatasets(),
  trace?: Trace,
): Promise<DatasetLoadResult[]> {
  const results: DatasetLoadResult[] = [];
  for (const planned of plan.loads) {
    let load = planned;
    const run = (sql: string) => traced(trace, sql, () => connection.run(sql), planned.dataset);
    try {
      const dataset = warehouseDataset(datasets, planned.dataset);
      load = await withFileSchemas(planned, dataset, (o) => fileColumns(lakeObjectPath(lakeDir, o.bucket, o.key)));
      const evolution = evolutionFor("duckdb", dataset, datasets, await readDuckdbColumns(connection));
      const rendered = renderDuckdbLoad(plan, load, lakeDir, loadedAt, datasets, evolution);
      // Evolution first, then staging; the rest is bound to the staged time range (window.ts).
      const [clearStaging, fillStaging, ...rest] = rendered.slice(evolution.length);
      await connection.run("BEGIN TRANSACTION");
      try {
        for (const statement of evolution) await run(statement);
        await run(clearStaging);
        await run(fillStaging);
        const rangeQuery = stagedRangeQuery(dataset);
        let statements = rest;
        if (rangeQuery) {
          const [min, max] = (
            await traced(trace, rangeQuery, () => connection.runAndReadAll(rangeQuery), planned.dataset)
          ).getRows()[0] ?? [null, null];
          statements = bindStagedRange(dataset, rest, {
            min: min === null ? null : String(min),
            max: max === null ? null : String(max),
          });
        }
        for (const statement of statements) await run(statement);
        await run("COMMIT");
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
  /** Objects announced since the last run (or, with `rescan`, every object listed in the lake). */
  readonly discovered: number;
  readonly alreadyLoaded: number;
  readonly results: readonly DatasetLoadResult[];
  /** Objects that cannot be loaded, and announcements that cannot be read (kept for inspection). */
  readonly rejected: readonly string[];
  /** Rows in history.<dataset> after the run, for every dataset that loaded. */
  readonly historyRows: Readonly<Record<string, number>>;
  /** Per dataset, records re-delivered later than the re-delivery window (see DrainReport.lateDuplicates). */
  readonly lateDuplicates: Readonly<Record<string, number>>;
  /** Objects in the ledger after the run: 0 means nothing was ever loaded (an empty lake, for a message). */
  readonly ledgerObjects: number;
  /** Model tables written to `analytics/` in the lake (src/loader/duckdb-exports.ts); failed ones are retried next run. */
  readonly exports: readonly ExportResult[];
}

export interface LocalLoadOptions {
  /** @default () => new Date() */
  readonly now?: () => Date;
  /**
   * List and hash every object of the lake instead of reading the announcements: for a lake folder
   * filled by other means than the offline endpoint. @default false
   */
  readonly rescan?: boolean;
  /** The lake bucket model tables are exported to. @default the bucket of the loaded objects, else the offline lake's */
  readonly bucket?: string;
  /** Called with each statement's time (src/loader/trace.ts). */
  readonly trace?: Trace;
}

/**
 * One offline loader run: open D/warehouse.duckdb, apply the DDL, read the announcements of new objects
 * (src/loader/announcements.ts; with `rescan`, list the lake), subtract the ledger, load, delete the
 * announcements now in the ledger, close. With nothing announced it reads one small folder and the
 * cost does not grow with the lake. The database is opened per run (not held) because DuckDB allows
 * one writing process per file, and `tributary query --local` needs to open it between runs.
 */
export async function loadLakeOnce(lakeDir: string, options: LocalLoadOptions = {}): Promise<LocalLoadReport> {
  const now = options.now ?? (() => new Date());
  const file = warehousePath(lakeDir);
  await fs.mkdir(lakeDir, { recursive: true });
  const announcements = await readAnnouncements(lakeDir);
  const objects = options.rescan
    ? await discoverLakeObjects(lakeDir)
    : announcements.flatMap((a) => (a.ok ? a.objects : []));
  const unreadable = announcements.flatMap((a) => (a.ok ? [] : [`announcement ${a.reason}`]));
  const instance = await traced(options.trace, `open ${WAREHOUSE_FILE}`, () => DuckDBInstance.create(file));
  const connection = await instance.connect();
  try {
    await applyDuckdbDdl(connection, allDatasets(), options.trace);
    const plan = planLoad(objects, await readDuckdbLedger(connection, objects), allDatasets());
    const results = await runDuckdbLoad(connection, plan, lakeDir, now(), allDatasets(), options.trace);
    // With nothing new (a run that only retries exports) the lake's bucket is the one loads came from.
    const lastBucket = async () =>
      (
        await connection.runAndReadAll(
          `SELECT bucket FROM ${qualifiedName(LEDGER_TABLE)} ORDER BY loaded_at DESC LIMIT 1`,
        )
      ).getRows()[0]?.[0];
    const bucket = options.bucket ?? objects[0]?.bucket ?? String((await lastBucket()) ?? OFFLINE_LAKE_BUCKET);
    // Traced per table (COPY … TO Parquet, the folder swap, settling its pending rows).
    const lakeExports = await runDuckdbExports(connection, lakeDir, bucket, allDatasets(), plan.loadId, options.trace);
    const done = new Set(plan.alreadyLoaded.map(ledgerKey));
    for (const r of results) if (r.ok) for (const o of r.objects) done.add(ledgerKey(o));
    // As the Lambda acknowledges SQS messages: only when every object named is in the ledger.
    await acknowledgeAnnouncements(
      announcements.flatMap((a) => (a.ok && a.objects.every((o) => done.has(ledgerKey(o))) ? [a.file] : [])),
    );
    const historyRows: Record<string, number> = {};
    for (const r of results) {
      if (!r.ok) continue;
      const reader = await connection.runAndReadAll(`SELECT COUNT(*) FROM history.${sqlIdentifier(r.dataset)}`);
      historyRows[r.dataset] = Number(reader.getRows()[0][0]);
    }
    const late = await connection.runAndReadAll(lateDuplicateCountsSql(plan.loadId));
    const ledger = await connection.runAndReadAll(`SELECT COUNT(*) FROM ${qualifiedName(LEDGER_TABLE)}`);
    return {
      loadId: plan.loadId,
      warehouse: file,
      discovered: objects.length,
      alreadyLoaded: plan.alreadyLoaded.length,
      results,
      rejected: [...plan.rejected.map((r) => r.reason), ...unreadable],
      historyRows,
      lateDuplicates: lateDuplicateCounts(late.getRows()),
      ledgerObjects: Number(ledger.getRows()[0][0]),
      exports: lakeExports,
    };
  } finally {
    // Closing checkpoints the load's changes into the file: part of what a load costs.
    await traced(options.trace, `close ${WAREHOUSE_FILE} (checkpoint)`, async () => {
      connection.closeSync();
      instance.closeSync();
    });
  }
}
