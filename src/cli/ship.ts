import { statSync } from "fs";
import { homedir } from "os";
import { join, resolve } from "path";
import { Command, Option } from "commander";
import { SingleBar } from "cli-progress";
import { datasetByName } from "../datasets";
import { TributaryError } from "../errors";
import { CheckpointStore } from "../shipper/checkpoint";
import { firehoseClientFor, firehosePort, checkClientConfiguration } from "../shipper/firehose";
import { RejectFile } from "../shipper/rejects";
import { Shipper } from "../shipper/ship";
import type { ShipStats } from "../shipper/ship";
import { resolveStreamName } from "../shipper/stream-name";
import { formatSummary, summarize } from "../shipper/summary";
import { startProgressLines } from "./progress";

/** Exit status of a run that delivered everything it could but rejected some lines. */
export const EXIT_REJECTED_LINES = 3;

export interface ShipCommandOptions {
  readonly dataset: string;
  readonly stream?: string;
  readonly stack?: string;
  readonly endpoint?: string;
  readonly region?: string;
  readonly follow?: boolean;
  readonly fromStart?: boolean;
  readonly checkpointDir?: string;
  readonly errorsFile?: string;
  readonly json?: boolean;
  readonly concurrency?: string;
}

export const DEFAULT_CHECKPOINT_DIR = join(homedir(), ".tributary", "checkpoints");

function positiveInteger(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    throw new TributaryError("TRIBUTARY_SHIP_BAD_OPTION", `${flag} must be a positive integer, got "${value}".`);
  }
  return n;
}

/** A stream name made safe as a folder name: checkpoints are kept per stream. */
function folderFor(stream: string): string {
  return stream.replace(/[^A-Za-z0-9._-]/g, "_");
}

function progressBar(follow: boolean, totalBytes: number): SingleBar {
  const format = follow
    ? "following | {lines} lines | {linesPerSec} lines/s | {mbPerSec} MB/s | {records} records | {retries} retries | {rejected} rejected"
    : "{bar} {percentage}% | {lines} lines | {linesPerSec} lines/s | {mbPerSec} MB/s | {records} records | {retries} retries | {rejected} rejected";
  const bar = new SingleBar({ format, stream: process.stderr, hideCursor: true, clearOnComplete: true, fps: 5 });
  bar.start(Math.max(totalBytes, 1), 0, {
    lines: 0,
    linesPerSec: 0,
    mbPerSec: "0.0",
    records: 0,
    retries: 0,
    rejected: 0,
  });
  return bar;
}

function barValues(stats: ShipStats, elapsedMs: number) {
  const seconds = Math.max(elapsedMs, 1) / 1000;
  return {
    lines: stats.lines.toLocaleString("en-US"),
    linesPerSec: Math.round(stats.lines / seconds).toLocaleString("en-US"),
    mbPerSec: (stats.bytesRead / 1e6 / seconds).toFixed(1),
    records: stats.recordsAcknowledged.toLocaleString("en-US"),
    retries: stats.retries.toLocaleString("en-US"),
    rejected: stats.rejected.toLocaleString("en-US"),
  };
}

/** Runs `tributary ship`; resolves with the process exit status. */
export async function runShip(files: readonly string[], options: ShipCommandOptions): Promise<number> {
  const dataset = datasetByName(options.dataset);
  const stream = resolveStreamName({ dataset: dataset.name, stream: options.stream, stack: options.stack });
  const checkpointDir = resolve(options.checkpointDir ?? DEFAULT_CHECKPOINT_DIR);
  const errorsFile = resolve(options.errorsFile ?? join(checkpointDir, "rejected.jsonl"));
  const paths = files.map((f) => resolve(f));
  const client = firehoseClientFor({ endpoint: options.endpoint, region: options.region });
  await checkClientConfiguration(client);
  const shipper = new Shipper(
    {
      dataset,
      streamName: stream,
      follow: options.follow ?? false,
      fromStart: options.fromStart ?? false,
      concurrency: positiveInteger("--concurrency", options.concurrency, 4),
    },
    {
      firehose: firehosePort(client),
      checkpoints: new CheckpointStore(join(checkpointDir, folderFor(stream))),
      rejects: new RejectFile(errorsFile),
    },
  );

  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) {
      // A second signal: the user does not want to wait for in-flight calls. Checkpoints are still safe.
      process.exit(signal === "SIGINT" ? 130 : 143);
    }
    interrupted = true;
    process.stderr.write(`\n${signal}: sending what was read and writing checkpoints (again to quit now)\n`);
    shipper.stop();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  const started = Date.now();
  const showBar = !options.json && process.stderr.isTTY === true;
  let totalBytes = 0;
  if (showBar && !options.follow) {
    for (const path of paths) {
      try {
        totalBytes += statSync(path).size;
      } catch {
        // A missing file is reported by the shipper with its own error.
      }
    }
  }
  const bar = showBar ? progressBar(options.follow ?? false, totalBytes) : undefined;
  const ticker = bar
    ? setInterval(() => {
        const stats = shipper.stats;
        bar.update(stats.bytesResumed + stats.bytesRead, barValues(stats, Date.now() - started));
      }, 200)
    : undefined;
  const progress = startProgressLines("ship", () => {
    const s = shipper.stats;
    return {
      dataset: dataset.name,
      stream,
      lines: s.lines,
      bytesRead: s.bytesRead,
      recordsAcknowledged: s.recordsAcknowledged,
      retries: s.retries,
      rejected: s.rejected,
    };
  });
  let stats: ShipStats;
  try {
    stats = await shipper.run(paths);
    progress.stop({ interrupted });
  } finally {
    if (ticker) clearInterval(ticker);
    bar?.stop();
    progress.cancel();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    client.destroy();
  }
  const summary = summarize(stats, {
    dataset: dataset.name,
    stream,
    elapsedMs: Date.now() - started,
    errorsFile,
    interrupted,
  });
  process.stdout.write(options.json ? `${JSON.stringify(summary)}\n` : `${formatSummary(summary)}\n`);
  return summary.rejected > 0 ? EXIT_REJECTED_LINES : 0;
}

export function register(program: Command): void {
  program
    .command("ship")
    .description(
      "Ship log files to a dataset's Firehose delivery stream: the Kinesis Agent's JSON, packed up to 500 lines\n" +
        "per record, failed entries resent, checkpoints after acknowledgement. Exit status 3 when lines were rejected.",
    )
    .argument("<files...>", "files to ship (with --follow: files to tail)")
    .requiredOption("--dataset <name>", "dataset the files belong to (its parser and stream)")
    .option("--stream <name>", "delivery stream name")
    .option("--stack <stack>", "read the stream name from this Pulumi stack's `streams` output (needs the pulumi CLI)")
    .option("--endpoint <url>", "Firehose-compatible endpoint, e.g. the offline lake's http://127.0.0.1:4573")
    .option("--region <region>", "AWS region (default: the standard AWS chain)")
    .option("--follow", "keep tailing the files, across rename+create and copytruncate rotation")
    .option("--from-start", "with --follow, read files without a checkpoint from their start (default: their end)")
    .option("--checkpoint-dir <dir>", "where checkpoints are kept", DEFAULT_CHECKPOINT_DIR)
    .option("--errors-file <file>", "JSON lines file for rejected lines (default: <checkpoint-dir>/rejected.jsonl)")
    .addOption(new Option("--concurrency <n>", "PutRecordBatch calls in flight").default("4"))
    .option("--json", "print the summary as JSON")
    .action(async (files: string[], options: ShipCommandOptions) => {
      process.exitCode = await runShip(files, options);
    });
}
