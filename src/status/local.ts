import { createReadStream, existsSync, promises as fs } from "node:fs";
import * as path from "node:path";
import { createInterface } from "node:readline";
import { DuckDBInstance } from "@duckdb/node-api";
import { PROFILES } from "../../stacks/profiles";
import { allDatasets, type Dataset } from "../datasets";
import { warehousePath } from "../loader/duckdb";
import { localStackSettings } from "../local/lake";
import { deliverySpecFor } from "../spec";
import { OFFLINE_LAKE_BUCKET } from "../spec/names";
import { sqlIdentifier, sqlString } from "../warehouse/sql";
import { LEDGER_TABLE, qualifiedName } from "../warehouse/tables";
import { judgeDataset, type DatasetFacts, type DatasetStatus } from "./verdict";

/**
 * Status of the offline lake in folder D, read from the folder itself: the spool (when records were
 * last accepted, what is not delivered yet), the bucket folder (delivered objects, error records by
 * type) and the DuckDB ledger (loads). Nothing is written; the warehouse is opened read-only.
 */
export interface LocalStatusOptions {
  readonly dir: string;
  /** Stack profile: stream names and the freshness threshold. @default "dev" */
  readonly stack?: string;
  /** @default every dataset */
  readonly datasets?: readonly Dataset[];
  /** @default the profile's alarm freshness threshold */
  readonly lateAfterSeconds?: number;
  readonly now?: Date;
}

export interface LakeStatus {
  readonly target: string;
  readonly checkedAt: Date;
  readonly lateAfterSeconds: number;
  readonly datasets: readonly DatasetStatus[];
  /** A problem reading part of the lake (the warehouse busy, say); the rest is still reported. */
  readonly warnings: readonly string[];
}

/** The folder an S3 prefix starts with: up to the last `/` before its first `!{…}` expression. */
const fixedPart = (prefix: string): string => {
  const fixed = prefix.split("!{")[0];
  return fixed.slice(0, fixed.lastIndexOf("/") + 1);
};

async function filesUnder(dir: string): Promise<Array<{ file: string; mtime: Date }>> {
  const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
  const out: Array<{ file: string; mtime: Date }> = [];
  for (const entry of entries) {
    // Dot-files are writers' temporaries, renamed into place when complete.
    if (entry.name.startsWith(".")) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(full)));
    else if (entry.isFile()) out.push({ file: full, mtime: (await fs.stat(full)).mtime });
  }
  return out;
}

async function countLines(file: string): Promise<number> {
  let n = 0;
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  for await (const line of lines) if (line.trim() !== "") n++;
  return n;
}

const latest = (dates: readonly Date[]): Date | undefined =>
  dates.length ? new Date(Math.max(...dates.map((d) => d.getTime()))) : undefined;

/** When the stream's spool last took an append, and how many bytes wait for delivery. */
async function spoolFacts(spoolDir: string): Promise<{ lastAppendAt?: Date; undeliveredBytes: number }> {
  const segments = (await fs.readdir(spoolDir).catch(() => [] as string[])).filter((n) => n.endsWith(".spool")).sort();
  if (segments.length === 0) return { undeliveredBytes: 0 };
  const stats = await Promise.all(segments.map((s) => fs.stat(path.join(spoolDir, s))));
  const last = segments[segments.length - 1];
  const end = Number(last.slice(0, -".spool".length)) + stats[stats.length - 1].size;
  let committed = 0;
  try {
    committed = (JSON.parse(await fs.readFile(path.join(spoolDir, "committed.json"), "utf8")) as { offset: number })
      .offset;
  } catch {
    // Nothing committed yet.
  }
  // An empty segment was only opened (at startup), not appended to.
  const appended = stats.filter((s) => s.size > 0).map((s) => s.mtime);
  return { lastAppendAt: latest(appended), undeliveredBytes: Math.max(0, end - committed) };
}

interface LedgerFacts {
  readonly lastLoad?: { at: Date; objects: number; rows?: number };
  readonly historyRows?: number;
  readonly loadedKeys: ReadonlySet<string>;
}

async function readLedger(
  file: string,
  datasets: readonly string[],
  objectPath: (key: string) => string,
): Promise<Map<string, LedgerFacts>> {
  const facts = new Map<string, LedgerFacts>();
  if (!existsSync(file)) return facts;
  const instance = await DuckDBInstance.create(file, { access_mode: "READ_ONLY" });
  const connection = await instance.connect();
  const rows = async (sql: string) => (await connection.runAndReadAll(sql)).getRowObjects();
  try {
    const ledger = qualifiedName(LEDGER_TABLE);
    for (const dataset of datasets) {
      let loaded: Array<Record<string, unknown>>;
      try {
        loaded = await rows(
          `SELECT key, loaded_at, load_id FROM ${ledger} WHERE dataset = ${sqlString(dataset, "dataset")} ORDER BY loaded_at`,
        );
      } catch {
        // No ledger yet: the loader never ran.
        facts.set(dataset, { loadedKeys: new Set() });
        continue;
      }
      const loadedKeys = new Set(loaded.map((r) => String(r.key)));
      const last = loaded[loaded.length - 1];
      let lastLoad: LedgerFacts["lastLoad"];
      if (last) {
        const keys = loaded.filter((r) => r.load_id === last.load_id).map((r) => String(r.key));
        const files = keys.map(objectPath).filter((f) => existsSync(f));
        let loadRows: number | undefined;
        if (files.length === keys.length && files.length > 0) {
          const list = files.map((f) => sqlString(f, "path")).join(", ");
          loadRows = Number((await rows(`SELECT COUNT(*) AS n FROM read_parquet([${list}])`))[0].n);
        }
        const at = last.loaded_at;
        lastLoad = {
          at: new Date(`${String(at).replace(" ", "T")}${String(at).endsWith("Z") ? "" : "Z"}`),
          objects: keys.length,
          ...(loadRows !== undefined ? { rows: loadRows } : {}),
        };
      }
      let historyRows: number | undefined;
      try {
        historyRows = Number((await rows(`SELECT COUNT(*) AS n FROM history.${sqlIdentifier(dataset)}`))[0].n);
      } catch {
        historyRows = undefined;
      }
      facts.set(dataset, {
        loadedKeys,
        ...(lastLoad ? { lastLoad } : {}),
        ...(historyRows !== undefined ? { historyRows } : {}),
      });
    }
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
  return facts;
}

/** Reads the lake folder and the ledger, and judges every dataset. */
export async function readLocalStatus(options: LocalStatusOptions): Promise<LakeStatus> {
  const dir = path.resolve(options.dir);
  const stack = options.stack ?? "dev";
  const { prefix, settings } = localStackSettings(stack);
  const lateAfterSeconds = options.lateAfterSeconds ?? PROFILES[stack].alarms.freshnessThresholdSeconds;
  const now = options.now ?? new Date();
  const datasets = options.datasets ?? allDatasets();
  const bucketDir = path.join(dir, "s3", OFFLINE_LAKE_BUCKET);
  const warnings: string[] = [];
  let ledger = new Map<string, LedgerFacts>();
  try {
    ledger = await readLedger(
      warehousePath(dir),
      datasets.map((d) => d.name),
      (key) => path.join(bucketDir, ...key.split("/")),
    );
  } catch (err) {
    warnings.push(`the warehouse could not be read (${(err as Error).message}); load facts are missing`);
  }
  const statuses: DatasetStatus[] = [];
  for (const dataset of datasets) {
    const spec = deliverySpecFor(dataset, settings, { prefix });
    const curatedPrefix = fixedPart(spec.prefix);
    const errorPrefix = fixedPart(spec.errorOutputPrefix);
    const delivered = (await filesUnder(path.join(bucketDir, ...curatedPrefix.split("/").filter(Boolean)))).filter(
      (f) => f.file.endsWith(".parquet"),
    );
    const errorRoot = path.join(bucketDir, ...errorPrefix.split("/").filter(Boolean));
    const errorRecords: Record<string, number> = {};
    for (const { file } of await filesUnder(errorRoot)) {
      const type = path.relative(errorRoot, file).split(path.sep)[0];
      errorRecords[type] = (errorRecords[type] ?? 0) + (await countLines(file));
    }
    const spool = await spoolFacts(path.join(dir, "spool", spec.streamName));
    const loaded = ledger.get(dataset.name);
    const keyOf = (file: string) => path.relative(bucketDir, file).split(path.sep).join("/");
    const unloaded = loaded ? delivered.filter((f) => !loaded.loadedKeys.has(keyOf(f.file))) : delivered;
    const lastDeliveredAt = latest(delivered.map((f) => f.mtime));
    const facts: DatasetFacts = {
      dataset: dataset.name,
      stream: spec.streamName,
      // The spool's last append; a lake whose spool was removed still shows its last delivery.
      ...((spool.lastAppendAt ?? lastDeliveredAt) ? { lastReceivedAt: spool.lastAppendAt ?? lastDeliveredAt } : {}),
      ...(lastDeliveredAt ? { lastDeliveredAt } : {}),
      errorRecords,
      ...(loaded?.lastLoad ? { lastLoad: loaded.lastLoad } : {}),
      ...(loaded?.historyRows !== undefined ? { historyRows: loaded.historyRows } : {}),
      unloadedObjects: unloaded.length,
      ...(unloaded.length ? { oldestUnloadedAt: new Date(Math.min(...unloaded.map((f) => f.mtime.getTime()))) } : {}),
      undeliveredBytes: spool.undeliveredBytes,
    };
    statuses.push(
      judgeDataset(facts, {
        now,
        lateAfterSeconds,
        target: `--local --dir ${dir}`,
        deliverCommand: `tributary local start --dir ${dir}`,
        loadCommand: `tributary load --local --dir ${dir}`,
      }),
    );
  }
  return { target: `offline lake ${dir}`, checkedAt: now, lateAfterSeconds, datasets: statuses, warnings };
}
