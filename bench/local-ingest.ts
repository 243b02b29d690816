/**
 * Benchmark of `tributary local ingest` end to end (shipper → HTTP endpoint → fsync'd spool →
 * de-aggregation → jq partition keys → OpenX conversion → Parquet per partition) against DuckDB's own
 * conversion of the same JSON files to Hive-partitioned Parquet (one COPY … PARTITION_BY), in the
 * same run on the same machine. Input: the real Sparkify events (JSON lines), copied `--copies`
 * times with distinct session ids. Prints records/s, MB/s and the ratio (target ≥ 0.5) for each of
 * `--runs` rounds, where each stage's time went, the floor set by the shipper and the endpoint alone
 * (same files into a sink that stores nothing), CPU seconds and the load average: on a shared
 * machine the numbers only mean something next to them, so compare ratios of one round.
 *
 *   npx ts-node --transpile-only bench/local-ingest.ts [--copies 20] [--runs 3] [--jq auto|binary|wasm]
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "fs";
import { loadavg, tmpdir } from "os";
import { join, resolve } from "path";
import { DuckDBInstance } from "@duckdb/node-api";
import { datasetByName } from "../src/datasets";
import { startFirehoseEndpoint } from "../src/local/endpoint";
import type { JqEngineChoice } from "../src/local/jq";
import { shipFilesToLake, startOfflineLake } from "../src/local/lake";

const SOURCE = resolve(__dirname, "../../shared/datasets/sparkify/log_data/2018/11");

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}

const seconds = (since: bigint) => Number(process.hrtime.bigint() - since) / 1e9;
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");
const cpuSeconds = (usage: NodeJS.CpuUsage) => (usage.user + usage.system) / 1e6;

interface Round {
  readonly ingestRate: number;
  readonly duckRate: number;
}

async function main(): Promise<void> {
  const copies = Number(flag("--copies", "20"));
  const runs = Number(flag("--runs", "3"));
  const jq = flag("--jq", "compiled") as JqEngineChoice;
  const work = mkdtempSync(join(tmpdir(), "tributary-bench-ingest-"));
  try {
    // Scaled input: each copy shifts sessionId so records stay distinct, as more users would be.
    const inputDir = join(work, "input");
    const files: string[] = [];
    let lines = 0;
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
    const dataset = datasetByName("sparkify_events");
    const rate = (s: number) =>
      `${Math.round(lines / s).toLocaleString("en-US")} records/s, ${(bytes / 1e6 / s).toFixed(1)} MB/s`;
    console.log(
      `input: ${files.length} files, ${lines.toLocaleString("en-US")} records, ${(bytes / 1e6).toFixed(1)} MB (sparkify_events ×${copies}); load average ${load()}`,
    );

    const rounds: Round[] = [];
    for (let round = 1; round <= runs; round++) {
      console.log(`\nround ${round}/${runs} (load average ${load()})`);

      // 0. The floor: the shipper and the endpoint alone, into a sink that keeps nothing.
      const floorDir = join(work, `floor-${round}`);
      const discard = { accept: async () => undefined };
      const lakeForSpec = await startOfflineLake({ dir: join(work, `spec-${round}`), datasets: [dataset], jq });
      const specs = lakeForSpec.specs;
      await lakeForSpec.close();
      const endpoint = await startFirehoseEndpoint({ streams: [{ name: specs[0].streamName }], sink: discard });
      let started = process.hrtime.bigint();
      await shipFilesToLake({ url: endpoint.url, dir: floorDir, specs }, dataset, files);
      const floorSeconds = seconds(started);
      await endpoint.close();
      console.log(
        `  shipper + endpoint alone (no spool, no delivery): ${floorSeconds.toFixed(2)} s, ${rate(floorSeconds)}`,
      );

      // 1. tributary local ingest, in-process (what the command runs, minus the warehouse load).
      const cpuBefore = process.cpuUsage();
      started = process.hrtime.bigint();
      const lake = await startOfflineLake({ dir: join(work, `lake-${round}`), datasets: [dataset], jq });
      const shipment = await shipFilesToLake(lake, dataset, files);
      const shippedSeconds = seconds(started);
      await lake.flush();
      await lake.close();
      const ingestSeconds = seconds(started);
      const ingestCpu = cpuSeconds(process.cpuUsage(cpuBefore));
      const counters = lake.counters().streams[dataset.name];
      if (counters.delivered !== lines) throw new Error(`delivered ${counters.delivered} of ${lines} records`);
      const ingestRate = lines / ingestSeconds;
      console.log(
        `  local ingest: ${ingestSeconds.toFixed(2)} s, ${rate(ingestSeconds)} (shipping done at ${shippedSeconds.toFixed(2)} s; ` +
          `${counters.parquetFiles} Parquet files, ${counters.partitions} partitions, ${shipment.stats.calls} PutRecordBatch calls, ` +
          `${counters.cycles} delivery cycles; ${ingestCpu.toFixed(1)} CPU s in this process; jq ${lake.jq.description})`,
      );
      const stages = Object.entries(counters.stageMs)
        .map(([stage, ms]) => `${stage} ${(ms / 1000).toFixed(2)}`)
        .join(", ");
      console.log(`  delivery stages (s, wall, summed over cycles): ${stages}`);

      // 2. DuckDB alone: the same files, the same typed columns and partition keys, one COPY.
      const spec = specs[0];
      const db = await DuckDBInstance.create(":memory:");
      const sql = await db.connect();
      const jsonKey = (column: string) => spec.conversion.openXJsonSerDe.columnToJsonKeyMappings[column] ?? column;
      const types: Record<string, string> = { string: "VARCHAR", int: "INTEGER", bigint: "BIGINT", double: "DOUBLE" };
      const columns = spec.glue.columns.map((c) => `'${jsonKey(c.name)}': '${types[c.type]}'`).join(", ");
      const select = spec.glue.columns.map((c) => `"${jsonKey(c.name)}" AS "${c.name}"`).join(", ");
      const list = files.map((f) => `'${f}'`).join(", ");
      const out = join(work, `duckdb-${round}`);
      started = process.hrtime.bigint();
      await sql.run(
        `COPY (SELECT ${select}, strftime(to_timestamp(floor(ts / 1000)), '%Y-%m-%d') AS dt,
              CASE WHEN page = 'NextSong' THEN 'song_play' ELSE 'other' END AS page_group
            FROM read_json([${list}], format = 'newline_delimited', columns = {${columns}}))
         TO '${out}' (FORMAT parquet, PARTITION_BY (dt, page_group), COMPRESSION snappy)`,
      );
      const duckSeconds = seconds(started);
      const duckRows = Number(
        (await sql.runAndReadAll(`SELECT COUNT(*) FROM read_parquet('${out}/**/*.parquet')`)).getRows()[0][0],
      );
      sql.closeSync();
      db.closeSync();
      if (duckRows !== lines) throw new Error(`DuckDB wrote ${duckRows} of ${lines} records`);
      const duckRate = lines / duckSeconds;
      console.log(`  DuckDB COPY … PARTITION_BY: ${duckSeconds.toFixed(2)} s, ${rate(duckSeconds)}`);
      console.log(
        `  ratio (local ingest / DuckDB alone): ${(ingestRate / duckRate).toFixed(3)}; ` +
          `floor (shipper + endpoint / DuckDB): ${(lines / floorSeconds / duckRate).toFixed(3)}`,
      );
      rounds.push({ ingestRate, duckRate });
      for (const dir of [floorDir, join(work, `lake-${round}`), join(work, `spec-${round}`), out])
        rmSync(dir, { recursive: true, force: true });
    }
    const ratios = rounds.map((r) => r.ingestRate / r.duckRate).sort((a, b) => a - b);
    console.log(
      `\nratio per round: ${ratios.map((r) => r.toFixed(3)).join(", ")}; median ${ratios[Math.floor(ratios.length / 2)].toFixed(3)} ` +
        `(target ≥ 0.5); load average ${load()}`,
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
