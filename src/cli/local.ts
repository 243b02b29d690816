import { resolve } from "path";
import { Command, Option } from "commander";
import { datasetByName } from "../datasets";
import { TributaryError } from "../errors";
import { loadLakeOnce, type LocalLoadReport } from "../loader/duckdb";
import { statusHtml } from "../status/format";
import { readLocalStatus } from "../status/local";
import type { JqEngineChoice } from "../local/jq";
import { formatLakeEvent, shipFilesToLake, startOfflineLake, type LakeCounters, type OfflineLake } from "../local/lake";

interface StartOptions {
  readonly dir: string;
  readonly port: string;
  readonly stack: string;
  readonly jq: JqEngineChoice;
  readonly loadEvery: string;
}

interface IngestOptions {
  readonly dir: string;
  readonly dataset: string;
  readonly stack: string;
  readonly jq: JqEngineChoice;
  readonly load: boolean;
  readonly json?: boolean;
}

function integerOption(flag: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new TributaryError("TRIBUTARY_LOCAL_BAD_OPTION", `${flag} must be an integer ${min}-${max}, got "${value}".`);
  }
  return n;
}

/** How to point producers at a running lake: printed by `local start`. */
export function connectionHelp(lake: OfflineLake): string {
  const example = lake.specs[0];
  return [
    `Offline Firehose endpoint: ${lake.url}   (lake folder: ${lake.dir}, jq: ${lake.jq.description})`,
    `Streams: ${lake.specs.map((s) => s.streamName).join(", ")}`,
    "",
    "Send records to it with:",
    `  tributary ship --dataset ${example.dataset} --stream ${example.streamName} --endpoint ${lake.url} FILE…`,
    `  aws firehose put-record --endpoint-url ${lake.url} --region us-east-1 --delivery-stream-name ${example.streamName} \\`,
    `      --cli-binary-format raw-in-base64-out --record '{"Data":"{...one JSON line...}\\n"}'`,
    `  Kinesis Agent: "firehose.endpoint": "${lake.url}" in /etc/aws-kinesis/agent.json (any credentials; calls must be signed)`,
    "",
    `Parquet lands in ${lake.bucketDir}/curated/<dataset>/<key>=<value>/…, failures in ${lake.bucketDir}/errors/.`,
    `Delivery buffers ${Math.round(lake.buffering.intervalMs / 100) / 10} s or ${(lake.buffering.sizeBytes / 1048576).toFixed(1)} MiB per stream.`,
  ].join("\n");
}

/** One line per stream with traffic: records in, rows delivered, errors, files, partitions. */
export function formatLakeCounters(counters: LakeCounters): string {
  const rows = Object.entries(counters.streams)
    .filter(([, s]) => s.recordsIn > 0)
    .map(([dataset, s]) => {
      const errors = Object.entries(s.errors)
        .map(([type, n]) => `${n} ${type}`)
        .join(", ");
      return `  ${dataset.padEnd(24)} ${String(s.subRecords).padStart(8)} in  ${String(s.delivered).padStart(8)} delivered  ${String(s.parquetFiles).padStart(5)} files  ${String(s.partitions).padStart(4)} partitions${errors ? `  errors: ${errors}` : ""}`;
    });
  return rows.length ? rows.join("\n") : "  (nothing delivered yet)";
}

/** One line for a loader run that loaded or failed something; undefined when there was nothing new. */
export function formatLoadLine(report: LocalLoadReport, at: Date = new Date()): string | undefined {
  if (report.results.length === 0) return undefined;
  const parts = report.results.map((r) =>
    r.ok
      ? `history.${r.dataset} +${r.objects.length} object(s) → ${report.historyRows[r.dataset] ?? 0} rows`
      : `history.${r.dataset} FAILED ${r.code}: ${r.error}`,
  );
  return `${at.toISOString().slice(11, 19)} loaded ${parts.join("; ")}`;
}

async function runStart(options: StartOptions): Promise<void> {
  const loader = async (dir: string) => {
    const report = await loadLakeOnce(dir);
    const line = formatLoadLine(report);
    if (line) (report.results.some((r) => !r.ok) ? process.stderr : process.stdout).write(`${line}\n`);
    return report;
  };
  const lake = await startOfflineLake({
    dir: resolve(options.dir),
    port: integerOption("--port", options.port, 0, 65535),
    stack: options.stack,
    jq: options.jq,
    loader,
    statusPage: async () => statusHtml(await readLocalStatus({ dir: resolve(options.dir), stack: options.stack })),
    onEvent: (event) => {
      const failed = event.type === "store-failed" || event.type === "error";
      (failed ? process.stderr : process.stdout).write(`${formatLakeEvent(event)}\n`);
    },
    loadIntervalMs: integerOption("--load-every", options.loadEvery, 0, 86_400) * 1000,
  });
  process.stdout.write(
    `${connectionHelp(lake)}\nLoader: every ${options.loadEvery} s into ${lake.dir}/warehouse.duckdb.\nStatus: ${lake.url}/ in a browser, or \`tributary status --local --dir ${lake.dir}\`. Ctrl-C to stop.\n`,
  );
  await new Promise<void>((done) => {
    const stop = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      process.stderr.write("\nstopping: delivering what is buffered…\n");
      done();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
  await lake.close();
  await loader(lake.dir);
  process.stdout.write(`${formatLakeCounters(lake.counters())}\n`);
}

async function runIngest(files: string[], options: IngestOptions): Promise<number> {
  const dataset = datasetByName(options.dataset);
  const started = Date.now();
  const lake = await startOfflineLake({
    dir: resolve(options.dir),
    stack: options.stack,
    jq: options.jq,
    datasets: [dataset],
  });
  let shipment;
  try {
    shipment = await shipFilesToLake(lake, dataset, files);
    await lake.flush();
  } finally {
    await lake.close();
  }
  const deliveredAt = Date.now();
  const load = options.load ? await loadLakeOnce(lake.dir) : undefined;
  const stream = lake.counters().streams[dataset.name];
  const table = `history.${dataset.name}`;
  const failedLoad = load?.results.find((r) => r.dataset === dataset.name && !r.ok);
  const loadFailure = failedLoad && !failedLoad.ok ? `${failedLoad.code}: ${failedLoad.error}` : undefined;
  const summary = {
    dataset: dataset.name,
    stream: shipment.stream,
    jq: lake.jq.description,
    lines: shipment.stats.lines,
    rejectedByShipper: shipment.stats.rejected,
    bytesRead: shipment.stats.bytesRead,
    delivered: stream.delivered,
    errors: stream.errors,
    errorCodes: stream.errorCodes,
    parquetFiles: stream.parquetFiles,
    partitions: stream.partitions,
    deliverSeconds: (deliveredAt - started) / 1000,
    stageMs: Object.fromEntries(Object.entries(stream.stageMs).map(([stage, ms]) => [stage, Math.round(ms)])),
    warehouseRows: load?.historyRows[dataset.name],
    ...(loadFailure ? { loadFailed: { table, error: loadFailure } } : {}),
    lake: lake.bucketDir,
  };
  if (options.json) {
    process.stdout.write(`${JSON.stringify(summary)}\n`);
  } else {
    const errors =
      Object.entries(stream.errors)
        .map(([t, n]) => `${n} ${t}`)
        .join(", ") || "none";
    process.stdout.write(
      [
        `Ingested ${dataset.name} → ${shipment.stream} (jq: ${lake.jq.description})`,
        `  lines       ${summary.lines} read, ${summary.rejectedByShipper} rejected by the agent chain (${shipment.rejectsFile})`,
        `  delivered   ${summary.delivered} rows in ${summary.parquetFiles} Parquet files over ${summary.partitions} partitions`,
        `  errors      ${errors}${summary.errors && Object.keys(stream.errors).length ? ` (under ${lake.bucketDir}/errors/${dataset.name}/)` : ""}`,
        `  throughput  ${Math.round(summary.lines / Math.max(summary.deliverSeconds, 0.001))} lines/s, ${(summary.bytesRead / 1e6 / Math.max(summary.deliverSeconds, 0.001)).toFixed(1)} MB/s end to end over ${summary.deliverSeconds.toFixed(1)} s`,
        ...(load && !loadFailure
          ? [
              `  warehouse   ${table}: ${summary.warehouseRows === undefined ? "nothing new to load" : `${summary.warehouseRows} rows`} (${load.warehouse})`,
            ]
          : []),
      ].join("\n") + "\n",
    );
  }
  if (loadFailure) {
    // A failed load is a failure of the command, whatever was delivered: the data is not queryable.
    process.stderr.write(
      `error TRIBUTARY_LOCAL_LOAD_FAILED: loading ${table} failed (${loadFailure}); the Parquet files stay in ${lake.bucketDir}/curated/${dataset.name}/ and \`tributary load --local --dir ${lake.dir}\` retries them.\n`,
    );
    return EXIT_LOAD_FAILED;
  }
  return summary.rejectedByShipper > 0 || Object.keys(stream.errors).length > 0 ? 3 : 0;
}

/** Exit status of `local ingest` when the warehouse load failed (rejected lines are 3). */
export const EXIT_LOAD_FAILED = 1;

export function register(program: Command): void {
  const local = program
    .command("local")
    .description(
      "The lake offline: a Firehose-compatible endpoint on 127.0.0.1, the lake as a folder, DuckDB as the warehouse.",
    );
  const jqOption = () =>
    new Option(
      "--jq <engine>",
      "partition keys: compiled (the JavaScript twins of the jq, in process), or a real jq: auto (jq 1.6 binary if installed, else jq-web), binary, wasm",
    )
      .choices(["compiled", "auto", "binary", "wasm"])
      .default("compiled");
  local
    .command("start")
    .description("Run the endpoint, delivery and the scheduled loader until Ctrl-C.")
    .requiredOption("--dir <dir>", "lake folder (spool, s3/<bucket>/…, warehouse.duckdb)")
    .option("--port <port>", "port on 127.0.0.1 (0 = any free port)", "4573")
    .option("--stack <stack>", "stack profile whose delivery settings and stream names to use", "dev")
    .option("--load-every <seconds>", "run the warehouse loader this often (0 = only at stop)", "30")
    .addOption(jqOption())
    .action(async (options: StartOptions) => {
      await runStart(options);
    });
  local
    .command("ingest")
    .description(
      "Start an endpoint in-process, ship FILEs with the real shipper over HTTP, deliver, load, print a summary.\n" +
        "Exit status 3 when records were rejected or went to the error output, 1 when the warehouse load failed.",
    )
    .argument("<files...>", "files of the dataset, in its source format")
    .requiredOption("--dir <dir>", "lake folder")
    .requiredOption("--dataset <name>", "dataset the files belong to")
    .option("--stack <stack>", "stack profile", "dev")
    .option("--no-load", "skip loading the warehouse")
    .option("--json", "print the summary as JSON")
    .addOption(jqOption())
    .action(async (files: string[], options: IngestOptions) => {
      process.exitCode = await runIngest(files, options);
    });
}
