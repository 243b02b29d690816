/**
 * Benchmark of `tributary local ingest` end to end (shipper → HTTP endpoint → fsync'd spool →
 * de-aggregation → jq partition keys → OpenX conversion → Parquet per partition) against DuckDB's own
 * conversion of the same JSON files to Hive-partitioned Parquet (one COPY … PARTITION_BY), in the
 * same run on the same machine. Input: the real Sparkify events (JSON lines), copied `--copies`
 * times with distinct session ids. Prints records/s, MB/s and the ratio (target ≥ 0.5).
 *
 *   npx ts-node --transpile-only bench/local-ingest.ts [--copies 20] [--jq auto|binary|wasm]
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join, resolve } from "path";
import { DuckDBInstance } from "@duckdb/node-api";
import { datasetByName } from "../src/datasets";
import type { JqEngineChoice } from "../src/local/jq";
import { shipFilesToLake, startOfflineLake } from "../src/local/lake";

const SOURCE = resolve(__dirname, "../../shared/datasets/sparkify/log_data/2018/11");

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}

async function main(): Promise<void> {
  const copies = Number(flag("--copies", "20"));
  const jq = flag("--jq", "auto") as JqEngineChoice;
  const work = mkdtempSync(join(tmpdir(), "tributary-bench-ingest-"));
  try {
    // Scaled input: each copy shifts sessionId so records stay distinct, as more users would be.
    const inputDir = join(work, "input");
    const files: string[] = [];
    let lines = 0;
    const { mkdirSync } = await import("fs");
    mkdirSync(inputDir);
    for (const name of readdirSync(SOURCE).sort()) {
      const text = readFileSync(join(SOURCE, name), "utf8").split("\n").filter(Boolean);
      const out: string[] = [];
      for (let c = 0; c < copies; c++) {
        for (const line of text)
          out.push(line.replace(/"sessionId":(\d+)/, (_m, id: string) => `"sessionId":${Number(id) + c * 100_000}`));
      }
      const file = join(inputDir, name);
      writeFileSync(file, out.join("\n") + "\n");
      files.push(file);
      lines += out.length;
    }
    const bytes = files.reduce((s, f) => s + statSync(f).size, 0);
    console.log(
      `input: ${files.length} files, ${lines.toLocaleString("en-US")} records, ${(bytes / 1e6).toFixed(1)} MB (sparkify_events ×${copies})`,
    );

    // 1. tributary local ingest, in-process (what the command runs, minus the warehouse load).
    const dataset = datasetByName("sparkify_events");
    const started = process.hrtime.bigint();
    const lake = await startOfflineLake({ dir: join(work, "lake"), datasets: [dataset], jq });
    const shipment = await shipFilesToLake(lake, dataset, files);
    await lake.flush();
    await lake.close();
    const ingestSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    const counters = lake.counters().streams[dataset.name];
    if (counters.delivered !== lines) throw new Error(`delivered ${counters.delivered} of ${lines} records`);
    const ingestRate = lines / ingestSeconds;
    console.log(
      `local ingest: ${ingestSeconds.toFixed(2)} s, ${Math.round(ingestRate).toLocaleString("en-US")} records/s, ` +
        `${(bytes / 1e6 / ingestSeconds).toFixed(1)} MB/s (${counters.parquetFiles} Parquet files, ${counters.partitions} partitions, ` +
        `${shipment.stats.calls} PutRecordBatch calls, ${counters.cycles} delivery cycles, jq ${lake.jq.description})`,
    );

    // 2. DuckDB alone: the same files, the same typed columns and partition keys, one COPY.
    const spec = lake.specs[0];
    const db = await DuckDBInstance.create(":memory:");
    const sql = await db.connect();
    const jsonKey = (column: string) => spec.conversion.openXJsonSerDe.columnToJsonKeyMappings[column] ?? column;
    const types: Record<string, string> = { string: "VARCHAR", int: "INTEGER", bigint: "BIGINT", double: "DOUBLE" };
    const columns = spec.glue.columns.map((c) => `'${jsonKey(c.name)}': '${types[c.type]}'`).join(", ");
    const select = spec.glue.columns.map((c) => `"${jsonKey(c.name)}" AS "${c.name}"`).join(", ");
    const list = files.map((f) => `'${f}'`).join(", ");
    const duckStarted = process.hrtime.bigint();
    await sql.run(
      `COPY (SELECT ${select}, strftime(to_timestamp(floor(ts / 1000)), '%Y-%m-%d') AS dt,
              CASE WHEN page = 'NextSong' THEN 'song_play' ELSE 'other' END AS page_group
            FROM read_json([${list}], format = 'newline_delimited', columns = {${columns}}))
       TO '${join(work, "duckdb")}' (FORMAT parquet, PARTITION_BY (dt, page_group), COMPRESSION snappy)`,
    );
    const duckSeconds = Number(process.hrtime.bigint() - duckStarted) / 1e9;
    const duckRows = Number(
      (
        await sql.runAndReadAll(`SELECT COUNT(*) FROM read_parquet('${join(work, "duckdb")}/**/*.parquet')`)
      ).getRows()[0][0],
    );
    sql.closeSync();
    db.closeSync();
    if (duckRows !== lines) throw new Error(`DuckDB wrote ${duckRows} of ${lines} records`);
    const duckRate = lines / duckSeconds;
    console.log(
      `DuckDB COPY … PARTITION_BY: ${duckSeconds.toFixed(2)} s, ${Math.round(duckRate).toLocaleString("en-US")} records/s, ` +
        `${(bytes / 1e6 / duckSeconds).toFixed(1)} MB/s`,
    );
    console.log(`ratio (local ingest / DuckDB alone): ${(ingestRate / duckRate).toFixed(3)} (target ≥ 0.5)`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
