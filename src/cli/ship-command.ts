import { existsSync, readdirSync, statSync } from "fs";
import { homedir } from "os";
import { join, resolve } from "path";
import { Command, Option } from "commander";
import { SingleBar } from "cli-progress";
import { TributaryError } from "../errors";
import { CheckpointStore } from "../shipper/checkpoint";
import { checkClientConfiguration, destinationOf, firehoseClientFor, firehosePort } from "../shipper/firehose";
import { RejectFile } from "../shipper/rejects";
import { RETRIES_EXHAUSTED } from "../shipper/sender";
import { resolveStreamName } from "../shipper/stream-name";
import { INITIAL_POSITIONS, Shipper } from "../shipper/ship";
import type { ShipStats, ShipperDataset } from "../shipper/ship";
import { formatSummary, summarize } from "../shipper/summary";

/** Exit status of a run that delivered everything it could but rejected some input (lines or files). */
export const EXIT_REJECTED_LINES = 3;
/** Exit status of a run that gave up retrying (--max-retry-time): the stream was unreachable too long. */
export const EXIT_RETRIES_EXHAUSTED = 4;

/**
 * `tributary ship` and the standalone shipper (`tributary-ship.js`): the options both take and the run
 * once the dataset's line spec and the stream are known. Nothing here reads the dataset catalog, so the
 * standalone bundle carries none of it (no YAML, no schema validation, no transforms).
 */

/** The options `tributary ship` and `tributary-ship.js` share (see `shipCommand`). */
export interface ShipCommandOptions {
  readonly stream?: string;
  readonly stack?: string;
  readonly endpoint?: string;
  readonly region?: string;
  readonly follow?: boolean;
  readonly fromStart?: boolean;
  readonly initialPosition?: string;
  readonly checkpointDir?: string;
  readonly errorsFile?: string;
  readonly json?: boolean;
  readonly concurrency?: string;
  readonly maxRetryTime?: string;
  readonly requestTimeout?: string;
  readonly progressInterval?: string;
  readonly rotatedFileQuietTime?: string;
  readonly rescanInterval?: string;
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

/** A duration flag: a number with a unit (ms, s, m, h); a bare number is seconds. */
export function parseDuration(flag: string, value: string | undefined, fallbackMs: number): number {
  if (value === undefined) return fallbackMs;
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const ms = match ? Number(match[1]) * units[match[2] ?? "s"] : NaN;
  if (!(ms > 0)) {
    throw new TributaryError(
      "TRIBUTARY_SHIP_BAD_OPTION",
      `${flag} must be a positive duration such as 90s, 10m or 500ms, got "${value}".`,
    );
  }
  return Math.round(ms);
}

/**
 * Whether followed files without a checkpoint are read from their start: `--initial-position
 * START_OF_FILE` (the agent's option) or its shorthand `--from-start`; END_OF_FILE, the default, reads
 * only lines written after the start. The two flags saying opposite things is an error.
 */
export function startsAtFileStart(options: Pick<ShipCommandOptions, "fromStart" | "initialPosition">): boolean {
  const position = options.initialPosition;
  if (position !== undefined && !(INITIAL_POSITIONS as readonly string[]).includes(position)) {
    throw new TributaryError(
      "TRIBUTARY_SHIP_BAD_OPTION",
      `--initial-position must be ${INITIAL_POSITIONS.join(" or ")}, got "${position}".`,
    );
  }
  if (options.fromStart && position === "END_OF_FILE") {
    throw new TributaryError(
      "TRIBUTARY_SHIP_BAD_OPTION",
      "--from-start and --initial-position END_OF_FILE contradict each other; pass one of them.",
    );
  }
  return options.fromStart === true || position === "START_OF_FILE";
}

/** A stream name made safe as a folder name: checkpoints are kept per stream. */
function folderFor(stream: string): string {
  return stream.replace(/[^A-Za-z0-9._-]/g, "_");
}

function hasCheckpoints(dir: string): boolean {
  try {
    return readdirSync(dir).some((name) => /^\d+-\d+\.json$/.test(name));
  } catch {
    return false;
  }
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

/** One progress line for a log (journald, a file): what a terminal's progress bar shows, plus the last error. */
export function progressLine(stats: ShipStats, elapsedMs: number, json: boolean, done = false): string {
  // The same envelope as every command's progress lines (`{"progress":<command>,"elapsedSeconds":…}`).
  const fields = {
    progress: "ship",
    elapsedSeconds: Math.round(elapsedMs / 100) / 10,
    event: "progress",
    elapsedMs,
    files: stats.files,
    lines: stats.lines,
    linesAcknowledged: stats.linesAcknowledged,
    recordsAcknowledged: stats.recordsAcknowledged,
    rejected: stats.rejected,
    failedFiles: stats.failedFiles.length,
    calls: stats.calls,
    retries: stats.retries,
    rotations: stats.rotations,
    bytesRead: stats.bytesRead,
    lastError: stats.lastError ?? null,
    ...(done ? { done: true } : {}),
  };
  if (json) return JSON.stringify(fields);
  const n = (v: number) => v.toLocaleString("en-US");
  return (
    `progress ${(elapsedMs / 1000).toFixed(0)}s: ${n(stats.lines)} lines read, ${n(stats.linesAcknowledged)} delivered, ` +
    `${n(stats.rejected)} rejected, ${n(stats.failedFiles.length)} files failed, ${n(stats.calls)} calls, ${n(stats.retries)} entries resent` +
    (stats.lastError ? ` (last error: ${stats.lastError})` : "")
  );
}

/**
 * Ships `files` of `dataset` (only its line-processing spec is needed) to `stream`: what `tributary
 * ship` and the standalone shipper both run once they know the dataset and the stream.
 */
export async function runShipFor(
  dataset: ShipperDataset,
  stream: string,
  files: readonly string[],
  options: Omit<ShipCommandOptions, "stream" | "stack">,
): Promise<number> {
  const checkpointRoot = resolve(options.checkpointDir ?? DEFAULT_CHECKPOINT_DIR);
  const errorsFile = resolve(options.errorsFile ?? join(checkpointRoot, "rejected.jsonl"));
  const paths = files.map((f) => resolve(f));
  const maxRetryTimeMs = parseDuration("--max-retry-time", options.maxRetryTime, 10 * 60_000);
  const requestTimeoutMs = parseDuration("--request-timeout", options.requestTimeout, 60_000);
  const progressMs = parseDuration("--progress-interval", options.progressInterval, 5_000);
  const client = firehoseClientFor({
    endpoint: options.endpoint,
    region: options.region,
    requestTimeoutMs,
    socketTimeoutMs: Math.min(requestTimeoutMs, 20_000),
  });
  const target = await checkClientConfiguration(client);
  const destination = destinationOf({ endpoint: options.endpoint, ...target });
  const checkpointDir = join(checkpointRoot, destination.folder, folderFor(stream));
  const legacy = join(checkpointRoot, folderFor(stream));
  if (!existsSync(checkpointDir) && hasCheckpoints(legacy)) {
    process.stderr.write(
      `note: ${legacy} holds checkpoints of an earlier version, which did not record where they shipped to; ` +
        `they are not used. If they were for ${destination.description}, move them to ${checkpointDir} before this run.\n`,
    );
  }
  const store = new CheckpointStore(checkpointDir);
  const release = store.lock();
  const shipper = new Shipper(
    {
      dataset,
      streamName: stream,
      follow: options.follow ?? false,
      fromStart: startsAtFileStart(options),
      concurrency: positiveInteger("--concurrency", options.concurrency, 4),
      maxRetryTimeMs,
      destination: destination.description,
      rotatedFileQuietMs: parseDuration("--rotated-file-quiet-time", options.rotatedFileQuietTime, 10_000),
      rescanIntervalMs: parseDuration("--rescan-interval", options.rescanInterval, 10_000),
    },
    { firehose: firehosePort(client), checkpoints: store, rejects: new RejectFile(errorsFile) },
  );

  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) {
      // A second signal: the user does not want to wait for in-flight calls. Checkpoints are still safe.
      release();
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
  // Outside a terminal (systemd, a pipe) a line every few seconds: a run that retries is never silent.
  let notesPrinted = 0;
  const printNotes = () => {
    for (const note of shipper.stats.notes.slice(notesPrinted)) process.stderr.write(`note: ${note}\n`);
    notesPrinted = shipper.stats.notes.length;
  };
  const ticker = bar
    ? setInterval(() => {
        const stats = shipper.stats;
        bar.update(stats.bytesResumed + stats.bytesRead, barValues(stats, Date.now() - started));
      }, 200)
    : setInterval(() => {
        printNotes();
        process.stderr.write(`${progressLine(shipper.stats, Date.now() - started, options.json ?? false)}\n`);
      }, progressMs);
  let stats: ShipStats;
  let gaveUp: TributaryError | undefined;
  try {
    stats = await shipper.run(paths);
  } catch (err) {
    if (!(err instanceof TributaryError && err.code === RETRIES_EXHAUSTED)) throw err;
    gaveUp = err;
    stats = shipper.stats;
  } finally {
    clearInterval(ticker);
    bar?.stop();
    printNotes();
    // Outside a terminal, a last line says the run ended, however short it was.
    if (!bar)
      process.stderr.write(`${progressLine(shipper.stats, Date.now() - started, options.json ?? false, true)}\n`);
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    client.destroy();
    release();
  }
  const summary = summarize(stats, {
    dataset: dataset.name,
    stream,
    elapsedMs: Date.now() - started,
    errorsFile,
    interrupted,
  });
  process.stdout.write(options.json ? `${JSON.stringify(summary)}\n` : `${formatSummary(summary)}\n`);
  if (gaveUp) process.stderr.write(`error ${gaveUp.code}: ${gaveUp.message}\n`);
  for (const failed of stats.failedFiles) process.stderr.write(`error ${failed.code}: ${failed.message}\n`);
  const status = gaveUp
    ? EXIT_RETRIES_EXHAUSTED
    : summary.rejected > 0 || stats.failedFiles.length > 0
      ? EXIT_REJECTED_LINES
      : 0;
  return status;
}

/**
 * A call cancelled by a stop may leave an SDK retry timer behind; it must not hold the exit of a
 * finished run. The timer is unref'd: it fires only if something else still keeps the process up.
 */
export function exitSoon(status: number): void {
  setTimeout(() => process.exit(status), 1_000).unref();
}

/**
 * Adds the shipper's description, file argument and options to `command`: the one definition behind
 * `tributary ship` and `tributary-ship.js`, so the two never drift. `datasetOption` is how the dataset
 * is named (`--dataset` from the catalog, `--spec` from a file); the caller adds the action.
 */
export function shipCommand(command: Command, datasetOption: Option): Command {
  return command
    .description(
      "Ship log files to a dataset's Firehose delivery stream: the Kinesis Agent's JSON, packed up to 500 lines " +
        "per record, failed entries resent, checkpoints after acknowledgement. Exit status 3 when lines or files were " +
        "rejected, 4 when a call kept failing for --max-retry-time.",
    )
    .argument("<files...>", "files to ship (with --follow: files to tail); a quoted pattern is matched by the shipper")
    .addOption(datasetOption.makeOptionMandatory())
    .option("--stream <name>", "delivery stream name")
    .option("--stack <stack>", "read the stream name from this Pulumi stack's `streams` output (needs the pulumi CLI)")
    .option("--endpoint <url>", "Firehose-compatible endpoint, e.g. the offline lake's http://127.0.0.1:4573")
    .option("--region <region>", "AWS region (default: the standard AWS chain)")
    .option("--follow", "keep tailing the files, across rename+create and copytruncate rotation")
    .option(
      "--initial-position <position>",
      "with --follow, where a file without a checkpoint is first read: START_OF_FILE, or END_OF_FILE (the default: only new lines), as the agent's initialPosition",
    )
    .option("--from-start", "shorthand for --initial-position START_OF_FILE")
    .option("--checkpoint-dir <dir>", "where checkpoints are kept", DEFAULT_CHECKPOINT_DIR)
    .option("--errors-file <file>", "JSON lines file for rejected lines (default: <checkpoint-dir>/rejected.jsonl)")
    .addOption(new Option("--concurrency <n>", "PutRecordBatch calls in flight").default("4"))
    .option("--json", "print the summary (and, outside a terminal, the progress lines) as JSON")
    .option(
      "--max-retry-time <duration>",
      "give up (exit status 4) when one call has failed for this long, e.g. 90s, 10m",
      "10m",
    )
    .option(
      "--request-timeout <duration>",
      "cut off and retry a PutRecordBatch attempt not answered within this",
      "60s",
    )
    .option(
      "--rotated-file-quiet-time <duration>",
      "with --follow, keep reading a file renamed by rotation until it has had no new lines for this long",
      "10s",
    )
    .option(
      "--rescan-interval <duration>",
      "with --follow, match quoted file patterns (e.g. '/var/log/app/*.log') again this often, to follow new files",
      "10s",
    )
    .option("--progress-interval <duration>", "outside a terminal, print a progress line this often", "5s");
}

/** Ships `files` of `dataset` to the stream named by --stream, or read from --stack's outputs. */
export async function runShipWith(
  dataset: ShipperDataset,
  files: readonly string[],
  options: ShipCommandOptions,
): Promise<number> {
  const stream = resolveStreamName({ dataset: dataset.name, stream: options.stream, stack: options.stack });
  return runShipFor(dataset, stream, files, options);
}

/**
 * The action of a shipper command: `lineSpec` names the dataset from the command's own options (the
 * catalog, or a spec file); the exit status is the run's.
 */
export function shipAction<O extends ShipCommandOptions>(
  lineSpec: (options: O) => ShipperDataset,
): (files: string[], options: O) => Promise<void> {
  return async (files, options) => {
    process.exitCode = await runShipWith(lineSpec(options), files, options);
    exitSoon(process.exitCode);
  };
}
