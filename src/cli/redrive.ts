import { resolve } from "path";
import { S3Client } from "@aws-sdk/client-s3";
import { SQSClient } from "@aws-sdk/client-sqs";
import { Command } from "commander";
import { datasetByName } from "../datasets";
import { TributaryError } from "../errors";
import { startOfflineLake } from "../local/lake";
import { redriveDeadLetterQueue } from "../redrive/dlq";
import { parseSince, redrive, redriveTypes, type ObjectOutcome, type RedriveReport } from "../redrive/redrive";
import { parseUntil, redriveSourceBackup, type BackupOutcome, type SourceBackupReport } from "../redrive/source-backup";
import { folderErrorStore, s3ErrorStore } from "../redrive/stores";
import type { BackupObjectStore, ErrorObjectStore } from "../redrive/ports";
import type { RecordBatchPort } from "../shipper/sender";
import {
  checkClientConfiguration,
  destinationOf,
  endpointClientConfig,
  firehoseClientFor,
  firehosePort,
} from "../shipper/firehose";
import { pulumiCli, resolveStreamName, type PulumiPort } from "../shipper/stream-name";
import { parseDuration } from "./ship-command";

export interface RedriveCommandOptions {
  readonly dataset?: string;
  readonly type?: string;
  readonly since?: string;
  /** With sourceBackup: only backups before this time. */
  readonly until?: string;
  /** Re-drive the stream's source-record backup (raw/<dataset>/firehose/) instead of its error output. */
  readonly sourceBackup?: boolean;
  readonly local?: boolean;
  readonly dir?: string;
  readonly profile?: string;
  readonly stack?: string;
  /** The delivery stream, instead of reading it from --stack's outputs (needs --bucket then). */
  readonly stream?: string;
  /** The lake bucket, instead of reading it from --stack's outputs. */
  readonly bucket?: string;
  readonly region?: string;
  /** A Firehose-compatible endpoint instead of AWS's (with --stack). */
  readonly endpoint?: string;
  /** An S3-compatible endpoint instead of AWS's (with --stack), path-style. */
  readonly s3Endpoint?: string;
  readonly sqsEndpoint?: string;
  readonly loaderDlq?: boolean;
  readonly maxRetryTime?: string;
  readonly json?: boolean;
}

/** Exit status when some error objects could not be decoded and were left in place. */
export const EXIT_OBJECTS_SKIPPED = 3;

function stackOutput(outputs: unknown, name: string, stack: string, hint: string): string {
  const value = (outputs as Record<string, unknown> | null)?.[name];
  if (typeof value !== "string" || value === "") {
    throw new TributaryError(
      "TRIBUTARY_STACK_OUTPUT_MISSING",
      `Stack ${stack} has no \`${name}\` output (${hint}). Run \`pulumi up\` on it first.`,
    );
  }
  return value;
}

function describe(outcome: ObjectOutcome): string {
  return outcome.movedTo
    ? `re-drove ${outcome.lines} record(s) of ${outcome.key} → ${outcome.movedTo}`
    : `left ${outcome.key} in place: ${outcome.problem}`;
}

function summary(report: RedriveReport): string {
  const skipped = report.skipped
    ? `; ${report.skipped} object(s) could not be decoded and were left in place (listed above)`
    : "";
  return report.moved === 0 && report.skipped === 0
    ? `Nothing to re-drive for ${report.dataset} (${report.types.join(", ")}).`
    : `Re-drove ${report.lines} record(s) from ${report.documents} error document(s) in ${report.moved} object(s) through ${report.streamName} (${report.calls} call(s), ${report.retries} entries resent); the objects are under redriven/${skipped}.`;
}

function describeBackup(outcome: BackupOutcome): string {
  return outcome.marker
    ? `re-drove ${outcome.records} record(s) of ${outcome.key} (marked ${outcome.marker})`
    : `left ${outcome.key} unmarked after ${outcome.records} record(s): ${outcome.code}: ${outcome.problem}`;
}

function backupSummary(report: SourceBackupReport): string {
  const range = `${report.since} to ${report.until}`;
  const already = report.alreadyRedriven
    ? `; ${report.alreadyRedriven} backup(s) in range were re-driven by an earlier run and skipped`
    : "";
  const failed = report.failed
    ? `; ${report.failed} backup(s) could not be read and were left unmarked (listed above)`
    : "";
  return report.redriven === 0 && report.failed === 0
    ? `Nothing to re-drive from the source backup of ${report.dataset} (${range})${already}.`
    : `Re-drove ${report.records} record(s) from ${report.redriven} source backup(s) of ${report.dataset} (${range}) through ${report.streamName} (${report.calls} call(s), ${report.retries} entries resent); each is marked under redriven/${already}${failed}.`;
}

/** Runs `tributary redrive`; resolves with the exit status. `pulumi` is a port for tests. */
export async function runRedrive(options: RedriveCommandOptions, pulumi: PulumiPort = pulumiCli): Promise<number> {
  const log = (line: string) => process.stderr.write(`${line}\n`);
  if (options.loaderDlq) {
    if (!options.stack) {
      throw new TributaryError(
        "TRIBUTARY_REDRIVE_NO_TARGET",
        "--loader-dlq needs --stack <stack>: the offline loader has no queue (re-run `tributary load --local` instead).",
      );
    }
    const outputs = pulumi.stackOutputs(options.stack);
    const hint = "the stack has no warehouse loader (tributary:warehouse is none)";
    const queueUrl = stackOutput(outputs, "loadQueueUrl", options.stack, hint);
    const deadLetterQueueUrl = stackOutput(outputs, "loadDeadLetterQueueUrl", options.stack, hint);
    const sqs = new SQSClient({
      ...endpointClientConfig({ endpoint: options.sqsEndpoint, region: options.region }),
      maxAttempts: 5,
      retryMode: "standard",
    });
    try {
      await checkClientConfiguration(sqs, "or pass the right --stack");
      const moved = await redriveDeadLetterQueue(sqs, { queueUrl, deadLetterQueueUrl });
      process.stdout.write(
        options.json
          ? `${JSON.stringify({ deadLetterQueueUrl, queueUrl, moved })}\n`
          : `Moved ${moved} message(s) from ${deadLetterQueueUrl} back to ${queueUrl}.\n`,
      );
      return 0;
    } finally {
      sqs.destroy();
    }
  }

  if (!options.dataset) {
    throw new TributaryError(
      "TRIBUTARY_REDRIVE_NO_DATASET",
      "Pass --dataset <name> (or --loader-dlq --stack <stack>).",
    );
  }
  const dataset = datasetByName(options.dataset);
  const maxRetryTimeMs = parseDuration("--max-retry-time", options.maxRetryTime, 10 * 60_000);
  let send: (target: RedriveTarget) => Promise<{ json: unknown; text: string; exit: number }>;
  if (options.sourceBackup) {
    if (options.since === undefined) {
      throw new TributaryError(
        "TRIBUTARY_REDRIVE_BAD_OPTION",
        "--source-backup needs --since <time>: a backup holds every record the stream received, delivered or not, " +
          "so re-drive only the range the transform bug affected (e.g. --since 2026-11-28T10:00Z --until 2026-11-28T14:00Z).",
      );
    }
    const since = parseSince(options.since) as Date;
    const until = parseUntil(options.until);
    send = async (target) => {
      const report = await redriveSourceBackup(target, {
        dataset: dataset.name,
        streamName: target.streamName,
        since,
        until,
        maxRetryTimeMs,
        destination: target.destination,
        onObject: (o) => log(describeBackup(o)),
      });
      return { json: report, text: backupSummary(report), exit: report.failed > 0 ? EXIT_OBJECTS_SKIPPED : 0 };
    };
  } else {
    if (options.until !== undefined) {
      throw new TributaryError(
        "TRIBUTARY_REDRIVE_BAD_OPTION",
        "--until applies to --source-backup only; the error output re-drive takes --since.",
      );
    }
    const types = redriveTypes(options.type);
    const since = parseSince(options.since);
    send = async (target) => {
      const report = await redrive(target, {
        dataset: dataset.name,
        types,
        since,
        maxRetryTimeMs,
        streamName: target.streamName,
        destination: target.destination,
        onObject: (o: ObjectOutcome) => log(describe(o)),
      });
      return { json: report, text: summary(report), exit: report.skipped > 0 ? EXIT_OBJECTS_SKIPPED : 0 };
    };
  }
  let result: { json: unknown; text: string; exit: number };
  if (options.local) {
    if (!options.dir) {
      throw new TributaryError("TRIBUTARY_REDRIVE_NO_DIR", "--local needs --dir <offline lake folder>.");
    }
    // The lake's own endpoint and delivery: records go through the same stream (transform, partition
    // keys, Parquet) as they first did, and closing the lake delivers them.
    const lake = await startOfflineLake({ dir: resolve(options.dir), datasets: [dataset], stack: options.profile });
    const client = firehoseClientFor({ endpoint: lake.url });
    try {
      result = await send({
        store: folderErrorStore(lake.bucketDir),
        firehose: firehosePort(client),
        streamName: lake.specs[0].streamName,
        destination: `offline lake ${lake.dir}`,
      });
    } finally {
      client.destroy();
      await lake.close();
    }
  } else if (options.stack || options.stream) {
    const streamName = resolveStreamName(
      { dataset: dataset.name, stack: options.stack, stream: options.stream },
      pulumi,
    );
    let bucket = options.bucket;
    if (bucket === undefined) {
      if (!options.stack) {
        throw new TributaryError(
          "TRIBUTARY_REDRIVE_NO_TARGET",
          "--stream needs --bucket <lake bucket> (or pass --stack <stack> to read both from its outputs).",
        );
      }
      bucket = stackOutput(pulumi.stackOutputs(options.stack), "bucket", options.stack, "the lake bucket");
    }
    const firehose = firehoseClientFor({ endpoint: options.endpoint, region: options.region });
    const s3 = new S3Client({
      ...endpointClientConfig({ endpoint: options.s3Endpoint, region: options.region }),
      forcePathStyle: options.s3Endpoint !== undefined,
      maxAttempts: 5,
      retryMode: "standard",
    });
    try {
      const target = await checkClientConfiguration(firehose, "or use --local --dir <lake folder>");
      result = await send({
        store: s3ErrorStore(s3, bucket),
        firehose: firehosePort(firehose),
        streamName,
        destination: destinationOf({ endpoint: options.endpoint, ...target }).description,
      });
    } finally {
      firehose.destroy();
      s3.destroy();
    }
  } else {
    throw new TributaryError(
      "TRIBUTARY_REDRIVE_NO_TARGET",
      "Pass --stack <stack> (or --stream <name> --bucket <bucket>) for a deployed stack, or --local --dir <lake folder> for the offline lake.",
    );
  }
  process.stdout.write(options.json ? `${JSON.stringify(result.json)}\n` : `${result.text}\n`);
  return result.exit;
}

/** Where records go and the bucket they come from, offline or on AWS. */
interface RedriveTarget {
  readonly store: ErrorObjectStore & BackupObjectStore;
  readonly firehose: RecordBatchPort;
  readonly streamName: string;
  readonly destination: string;
}

export function register(program: Command): void {
  program
    .command("redrive")
    .description(
      "Send failed records back through their stream: reads the dataset's error output (errors/<dataset>/<type>/…),\n" +
        "decodes each record's rawData, sends the records packed and retried like `ship`, and moves each error object\n" +
        "under redriven/ once all its records were acknowledged, so nothing is sent twice. --source-backup re-sends the\n" +
        "stream's own backup of what it received (to repair a transform bug). --loader-dlq moves the\n" +
        "loader's dead-letter messages back to its queue. Exit status 3 when an object could not be decoded (left in place).",
    )
    .option("--dataset <name>", "the dataset whose error output is re-driven")
    .option(
      "--type <type>",
      "processing-failed (records the transform or partitioning rejected: what the producer sent), " +
        "format-conversion-failed (transformed records Parquet conversion refused) or all",
      "processing-failed",
    )
    .option(
      "--since <time>",
      "only error objects written at or after this ISO date/time (e.g. 2026-11-28T10:00Z); required with --source-backup",
    )
    .option(
      "--source-backup",
      "re-send the stream's source-record backup (raw/<dataset>/firehose/…, the records as the stream received\n" +
        "them, before the transform) for backups from --since to --until, as they are; each backup is kept and\n" +
        "marked under redriven/raw/<dataset>/firehose/ once all its records were acknowledged",
    )
    .option("--until <time>", "with --source-backup: only backups before this ISO date/time (default: now)")
    .option("--local", "the offline lake in --dir")
    .option("--dir <dir>", "offline lake folder, with --local")
    .option("--profile <profile>", "with --local: the stack profile whose stream names the lake uses", "dev")
    .option("--stack <stack>", "a deployed stack: its `bucket` and `streams` outputs (needs the Pulumi CLI)")
    .option("--stream <name>", "the delivery stream, instead of --stack's outputs (with --bucket)")
    .option("--bucket <name>", "the lake bucket, instead of --stack's outputs")
    .option("--region <region>", "AWS region (default: the standard AWS chain)")
    .option("--endpoint <url>", "with --stack: a Firehose-compatible endpoint instead of AWS's")
    .option("--s3-endpoint <url>", "with --stack: an S3-compatible endpoint instead of AWS's (path-style)")
    .option("--sqs-endpoint <url>", "with --loader-dlq: an SQS-compatible endpoint instead of AWS's")
    .option("--loader-dlq", "with --stack: move the loader's dead-letter messages back to its queue")
    .option("--max-retry-time <duration>", "give up when a call keeps failing this long (e.g. 10m)", "10m")
    .option("--json", "print the report as JSON")
    .action(async (options: RedriveCommandOptions) => {
      process.exitCode = await runRedrive(options);
    });
}
