/**
 * Benchmark of the offline loader (`loadLakeOnce`: the same statements the Redshift loader runs, on
 * DuckDB): does the cost of loading a batch grow with history? For each history size it fills a fresh
 * lake with that many rows (Parquet files of 250,000 rows, loaded once with --rescan), then times
 *   - the load of one new batch of `--batch` rows (history upsert + the dataset's model refreshes),
 *   - a run with nothing new (reads the announcements folder),
 *   - a --rescan run with nothing new (lists and hashes the whole lake: the old way, for comparison).
 * Rows are synthetic but shaped like the dataset: one row per second, the window column increasing,
 * the distribution key's value shared by 10 consecutive rows (an invoice's lines), other values cycling
 * through 1,000 distinct values. The timed runs alternate between the sizes (run 1 of every size,
 * then run 2, …), so other work on the machine slows every size alike. Prints a Markdown table and
 * the ratio of each batch load to the one at the smallest history (target: ≤ 1.5 at 10M rows).
 *
 * With --trace it prints each statement of every size's last batch load with its time
 * (src/loader/trace.ts), so a load that grows with history shows which statement grows; with --keep it
 * keeps each size's lake folder (and its warehouse.duckdb) and prints where, for `tributary load
 * --local --trace` or `tributary query --local` by hand.
 *
 *   npx ts-node --transpile-only bench/load.ts [--history 100000,1000000,3000000,10000000]
 *     [--batch 20000] [--dataset NAME] [--runs 3] [--trace] [--keep]
 */
import { mkdtempSync, mkdirSync, rmSync, statSync } from "fs";
import { loadavg, tmpdir } from "os";
import { dirname, join } from "path";
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import { allDatasets, datasetByName, type Dataset } from "../src/datasets";
import { announceObjects, fileEtag } from "../src/loader/announcements";
import { lakeObjectPath, loadLakeOnce } from "../src/loader/duckdb";
import { formatTrace, type TraceEntry } from "../src/loader/trace";
import { duckdbType } from "../src/warehouse/ddl";
import { redeliveryWindowOf } from "../src/warehouse/window";

const DATASETS = allDatasets();

const BUCKET = "lake";
const FILE_ROWS = 250_000;
const BASE_MS = Date.UTC(2024, 0, 1);

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}

const seconds = (since: bigint) => Number(process.hrtime.bigint() - since) / 1e9;

/** The first dataset whose window column is part of its dedupe key (so every synthetic row is distinct). */
function defaultDataset(): Dataset {
  const found = DATASETS.find((d) => {
    const w = redeliveryWindowOf(d);
    return w !== undefined && d.dedupeKey.includes(w.column);
  });
  if (!found) throw new Error("no dataset with a re-delivery window on a dedupe key column");
  return found;
}

/** SELECT of rows `from`..`to` (one per second from BASE_MS) with the dataset's Glue columns. */
function syntheticRows(dataset: Dataset, from: number, to: number): string {
  const window = redeliveryWindowOf(dataset);
  const micros = `(${BASE_MS}::BIGINT + i * 1000) * 1000`;
  const columns = dataset.columns.map((c) => {
    const type = duckdbType(c.type);
    let value: string;
    if (c.type === "timestamp") value = `make_timestamp(${micros})`;
    else if (c.type === "date") value = `CAST(make_timestamp(${micros}) AS DATE)`;
    else if (c.type === "bigint") value = c.name === window?.column ? `${BASE_MS}::BIGINT + i * 1000` : "i % 1000";
    // The distribution key (an invoice, a session) groups a few consecutive rows, as such keys do;
    // every other value recurs across all of history.
    else if (c.type === "string")
      value = `'v' || CAST(${c.name === dataset.warehouse.distKey ? "i // 10" : "i % 1000"} AS VARCHAR)`;
    else if (c.type === "boolean") value = "false";
    else value = "i % 1000";
    return `CAST(${value} AS ${type}) AS ${c.name}`;
  });
  return `SELECT ${columns.join(", ")} FROM range(${from}, ${to}) r(i)`;
}

async function writeObject(
  connection: DuckDBConnection,
  lakeDir: string,
  dataset: Dataset,
  key: string,
  from: number,
  to: number,
): Promise<void> {
  const file = lakeObjectPath(lakeDir, BUCKET, key);
  mkdirSync(dirname(file), { recursive: true });
  await connection.run(`COPY (${syntheticRows(dataset, from, to)}) TO '${file}' (FORMAT PARQUET)`);
  await announceObjects(lakeDir, BUCKET, [{ key, size: statSync(file).size, etag: await fileEtag(file) }]);
}

interface Row {
  readonly history: number;
  readonly batch: number[];
  readonly nothingNew: number[];
  rescan: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const USAGE = `usage: npx ts-node --transpile-only bench/load.ts [--history 100000,1000000,3000000,10000000]
  [--batch 20000] [--dataset NAME] [--runs 3] [--trace] [--keep]
  --trace  print each statement of every size's last batch load with its time
  --keep   keep each size's lake folder (with warehouse.duckdb) and print its path`;

async function main(): Promise<void> {
  if (process.argv.includes("--help") || process.argv.includes("-h")) {
    console.log(USAGE);
    return;
  }
  const tracing = process.argv.includes("--trace");
  const keep = process.argv.includes("--keep");
  const sizes = flag("--history", "100000,1000000,3000000,10000000").split(",").map(Number);
  const batch = Number(flag("--batch", "20000"));
  const runs = Number(flag("--runs", "3"));
  const datasetName = flag("--dataset", "");
  const dataset = datasetName ? datasetByName(datasetName) : defaultDataset();
  const prefix = `curated/${dataset.name}/bench`;
  console.log(
    `dataset ${dataset.name}, batch ${batch} rows, ${runs} run(s) per size, load average ${loadavg()[0].toFixed(2)}`,
  );
  const rows: Row[] = [];
  const lakes: string[] = [];
  const writer = await DuckDBInstance.create(":memory:");
  const connection = await writer.connect();
  try {
    for (const history of sizes) {
      const lakeDir = mkdtempSync(join(tmpdir(), "tributary-bench-load-"));
      lakes.push(lakeDir);
      for (let from = 0, n = 0; from < history; from += FILE_ROWS, n++) {
        await writeObject(
          connection,
          lakeDir,
          dataset,
          `${prefix}/h-${n}.parquet`,
          from,
          Math.min(history, from + FILE_ROWS),
        );
      }
      const setup = process.hrtime.bigint();
      const initial = await loadLakeOnce(lakeDir);
      if (initial.results.some((r) => !r.ok)) throw new Error(JSON.stringify(initial.results));
      console.log(`  history ${history}: initial load ${seconds(setup).toFixed(1)} s`);
      rows.push({ history, batch: [], nothingNew: [], rescan: 0 });
    }
    // Runs alternate between the sizes, so the machine's other work slows each size alike and the
    // ratios stay comparable. Each run appends a new batch after the previous one, as successive loads do.
    for (let run = 0; run < runs; run++) {
      for (const [i, row] of rows.entries()) {
        const lakeDir = lakes[i];
        const next = row.history + run * batch;
        await writeObject(connection, lakeDir, dataset, `${prefix}/b-${run}.parquet`, next, next + batch);
        const trace: TraceEntry[] = [];
        let t = process.hrtime.bigint();
        const report = await loadLakeOnce(lakeDir, tracing ? { trace: (e) => trace.push(e) } : {});
        row.batch.push(seconds(t));
        if (tracing && run === runs - 1)
          process.stdout.write(`  last batch load at history ${row.history}: ${formatTrace(trace)}`);
        if (report.results.length !== 1 || !report.results[0].ok) throw new Error(JSON.stringify(report.results));
        t = process.hrtime.bigint();
        const idle = await loadLakeOnce(lakeDir);
        row.nothingNew.push(seconds(t));
        if (idle.results.length !== 0) throw new Error("the nothing-new run loaded something");
      }
    }
    for (const [i, row] of rows.entries()) {
      const t = process.hrtime.bigint();
      await loadLakeOnce(lakes[i], { rescan: true });
      row.rescan = seconds(t);
      console.log(
        `  history ${row.history}: batch ${row.batch.map((s) => s.toFixed(2)).join(" / ")} s; nothing new ${row.nothingNew.map((s) => s.toFixed(2)).join(" / ")} s; rescan ${row.rescan.toFixed(2)} s`,
      );
    }
  } finally {
    connection.closeSync();
    writer.closeSync();
    for (const lakeDir of lakes) {
      if (keep) console.log(`  kept ${lakeDir}`);
      else rmSync(lakeDir, { recursive: true, force: true });
    }
  }
  console.log(`load average at the end ${loadavg()[0].toFixed(2)}`);
  const base = median(rows[0].batch);
  console.log(
    `\n| history rows before the batch | load of the ${batch} batch (median) | vs. smallest | nothing new (median) | nothing new, --rescan |`,
  );
  console.log("|---|---|---|---|---|");
  for (const r of rows) {
    console.log(
      `| ${r.history.toLocaleString("en-US")} | ${median(r.batch).toFixed(2)} s | ${(median(r.batch) / base).toFixed(2)}× | ${median(r.nothingNew).toFixed(3)} s | ${r.rescan.toFixed(2)} s |`,
    );
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
