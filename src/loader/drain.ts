import {
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  type DeleteMessageBatchResult,
  type ReceiveMessageResult,
} from "@aws-sdk/client-sqs";
import { TributaryError } from "../errors";
import {
  executeStatement,
  fetchResult,
  systemClock,
  waitForStatement,
  type Clock,
  type PollOptions,
  type RedshiftDataPort,
} from "./data-api";
import { evolutionFor } from "../warehouse/evolution";
import { lateDuplicateCounts, lateDuplicateCountsSql } from "./ledger-sql";
import { withFileSchemas } from "./parquet-columns";
import { ledgerKey, planLoad, type DatasetLoad, type LakeObject, type LoadPlan } from "./plan";
import {
  applyRedshiftDdl,
  readLedger,
  readRedshiftColumns,
  warehouseDataset,
  runRedshiftLoad,
  type DatasetLoadResult,
  type RedshiftLoadConfig,
  type S3PutPort,
} from "./redshift";
import { parseS3Message } from "./s3-events";
import { runRedshiftExports } from "./redshift-exports";
import type { ExportResult } from "../warehouse/exports";

/**
 * The loader Lambda's body, as a pure function of its ports: drain S3 ObjectCreated notifications
 * from SQS, plan, load into Redshift, and delete exactly the messages whose objects are now in the
 * ledger. Everything else stays on the queue: it reappears after the visibility timeout and, after
 * the queue's maxReceiveCount, lands in the dead-letter queue, so a batch is never lost.
 *
 * Why SQS rather than listing S3: a listing must be diffed against the ledger on every run (cost and
 * time grow with the lake, and prefixes must be walked), while notifications name exactly the new
 * objects, survive a Lambda outage for the queue's retention, and come with retries and a DLQ for
 * free. The ledger (bucket, key, etag) still makes every step idempotent: a duplicate notification, a
 * run that committed but died before deleting its messages, or a Lambda retry finds the objects in
 * the ledger, loads nothing and just acknowledges them.
 */

export interface SqsPort {
  send(command: ReceiveMessageCommand | DeleteMessageBatchCommand): Promise<unknown>;
}

export interface LoaderPorts {
  readonly sqs: SqsPort;
  readonly s3Put: S3PutPort;
  readonly redshiftData: RedshiftDataPort;
  readonly clock?: Clock;
  /** Reads an object's Parquet column names from its footer; without it every file is taken to have the declared columns. */
  readonly parquetColumns?: (object: LakeObject) => Promise<string[]>;
}

export interface LoaderConfig extends RedshiftLoadConfig {
  readonly queueUrl: string;
  /** Messages drained per run; bounds the size of one COPY batch and of the ledger SQL. @default 1000 */
  readonly maxMessages?: number;
  /** Time the run may spend waiting on Redshift (pass the Lambda's remaining time minus a margin). */
  readonly timeBudgetMs: number;
  /** Apply the idempotent DDL before loading (cheap; makes a fresh warehouse work on the first run). @default true */
  readonly applyDdl?: boolean;
  /** @default "curated/" */
  readonly curatedPrefix?: string;
  /**
   * The lake key: when set, model tables changed by committed loads are unloaded to `analytics/` after
   * the loads (src/loader/redshift-exports.ts). @default no export
   */
  readonly lakeKeyArn?: string;
  /** Throw TRIBUTARY_LOAD_FAILED after acknowledging what succeeded, so the Lambda's Errors metric (and its alarm) fires. @default true */
  readonly throwOnFailure?: boolean;
}

export interface DrainReport {
  readonly loadId: string | undefined;
  readonly received: number;
  readonly deleted: number;
  readonly loaded: readonly { readonly dataset: string; readonly objects: number; readonly statementId: string }[];
  readonly failed: readonly {
    readonly dataset: string;
    readonly objects: number;
    readonly code: string;
    readonly error: string;
  }[];
  readonly alreadyLoaded: number;
  readonly ignored: readonly string[];
  /** Messages kept for the DLQ because they cannot be read, with the reason. */
  readonly invalid: readonly { readonly messageId: string; readonly reason: string }[];
  readonly rejected: readonly string[];
  /** Messages SQS refused to delete; they come back and are acknowledged as ledger hits next time. */
  readonly deleteFailures: readonly string[];
  /**
   * Per dataset, records whose earlier copy was older than the re-delivery window (history keeps one;
   * the keys are in tributary.late_duplicates). Routine counts mean the window is too short.
   */
  readonly lateDuplicates: Readonly<Record<string, number>>;
  /** Model tables unloaded to `analytics/` by this run; a failed one stays pending for the next run. */
  readonly exports: readonly ExportResult[];
}

interface ReceivedMessage {
  readonly messageId: string;
  readonly receiptHandle: string;
  readonly objects: readonly LakeObject[];
  readonly deletable: boolean;
}

export async function drainAndLoad(ports: LoaderPorts, config: LoaderConfig): Promise<DrainReport> {
  const clock = ports.clock ?? systemClock;
  const deadline = clock.now() + config.timeBudgetMs;
  const poll: PollOptions = { deadline, clock };
  const ignored: string[] = [];
  const invalid: { messageId: string; reason: string }[] = [];
  const messages = await receiveAll(ports.sqs, config);
  const received: ReceivedMessage[] = messages.map((m) => {
    const parsed = parseS3Message(m.body, config.curatedPrefix);
    if (parsed.kind === "invalid") {
      invalid.push({ messageId: m.messageId, reason: parsed.reason });
      return { ...m, objects: [], deletable: false };
    }
    if (parsed.kind === "test") return { ...m, objects: [], deletable: true };
    ignored.push(...parsed.ignored);
    return { ...m, objects: parsed.objects, deletable: true };
  });

  const objects = received.flatMap((m) => m.objects);
  let plan: LoadPlan | undefined;
  let results: DatasetLoadResult[] = [];
  let lateDuplicates: Record<string, number> = {};
  let lakeExports: ExportResult[] = [];
  const done = new Set<string>();
  if (objects.length > 0) {
    if (config.applyDdl ?? true) {
      await applyRedshiftDdl(ports.redshiftData, config.target, poll, config.datasets, config.analystIamRoleName);
    }
    const inLedger = await readLedger(ports.redshiftData, config.target, objects, poll);
    plan = planLoad(objects, inLedger, config.datasets);
    for (const o of plan.alreadyLoaded) done.add(ledgerKey(o));
    // Each file's columns (from its footer) pick its COPY column list and its ledger schema version;
    // the warehouse's columns (information_schema) give each dataset's ALTER TABLE statements.
    const loads: DatasetLoad[] = [];
    const evolution: Record<string, string[]> = {};
    const columns = await readRedshiftColumns(ports.redshiftData, config.target, poll);
    // A model table two datasets share is altered by the first of them only.
    const planned = new Set<string>();
    for (const load of plan.loads) {
      const dataset = warehouseDataset(config.datasets, load.dataset);
      loads.push(ports.parquetColumns ? await withFileSchemas(load, dataset, ports.parquetColumns) : load);
      evolution[load.dataset] = evolutionFor("redshift", dataset, config.datasets, columns).filter(
        (sql) => !planned.has(sql) && planned.add(sql),
      );
    }
    plan = { ...plan, loads };
    results = await runRedshiftLoad(plan, ports, config, poll, new Date(clock.now()), evolution);
    for (const r of results) if (r.ok) for (const o of r.objects) done.add(ledgerKey(o));
    if (results.some((r) => r.ok)) {
      const id = await executeStatement(ports.redshiftData, config.target, lateDuplicateCountsSql(plan.loadId));
      await waitForStatement(ports.redshiftData, id, poll);
      lateDuplicates = lateDuplicateCounts((await fetchResult(ports.redshiftData, id)).rows);
    }
    // After the commits, never inside a load's transaction; also retries what an earlier run left pending.
    if (config.lakeKeyArn !== undefined) {
      lakeExports = await runRedshiftExports(
        ports.redshiftData,
        { ...config, bucket: config.manifestBucket, lakeKeyArn: config.lakeKeyArn },
        poll,
      ).catch((err: Error) => [{ ok: false as const, model: "*", table: "*", error: err.message }]);
    }
  }

  // A message is acknowledged only when every object it names is in the ledger now.
  const acknowledged = received.filter((m) => m.deletable && m.objects.every((o) => done.has(ledgerKey(o))));
  const deleteFailures = await deleteMessages(ports.sqs, config.queueUrl, acknowledged);
  const failed = results.flatMap((r) =>
    r.ok ? [] : [{ dataset: r.dataset, objects: r.objects.length, code: r.code, error: r.error }],
  );
  const report: DrainReport = {
    loadId: plan?.loadId,
    received: received.length,
    deleted: acknowledged.length - deleteFailures.length,
    loaded: results.flatMap((r) =>
      r.ok ? [{ dataset: r.dataset, objects: r.objects.length, statementId: r.statementId }] : [],
    ),
    failed,
    alreadyLoaded: plan?.alreadyLoaded.length ?? 0,
    ignored,
    invalid,
    rejected: (plan?.rejected ?? []).map((r) => r.reason),
    deleteFailures,
    lateDuplicates,
    exports: lakeExports,
  };
  if ((config.throwOnFailure ?? true) && (failed.length > 0 || lakeExports.some((e) => !e.ok))) {
    throw new LoadFailedError(report);
  }
  return report;
}

/** Some dataset failed to load; its messages stay queued. Carries the full report. */
export class LoadFailedError extends TributaryError {
  constructor(readonly report: DrainReport) {
    const exportFailures = report.exports.flatMap((e) => (e.ok ? [] : [`${e.model}.${e.table}: ${e.error}`]));
    super(
      "TRIBUTARY_LOAD_FAILED",
      `${report.failed.length} dataset load(s) failed (their messages stay on the queue): ` +
        report.failed.map((f) => `${f.dataset} (${f.objects} objects): ${f.error}`).join("; ") +
        (exportFailures.length > 0
          ? `; ${exportFailures.length} lake export(s) failed (kept in tributary.pending_exports, retried next run): ${exportFailures.join("; ")}`
          : ""),
    );
  }
}

async function receiveAll(
  sqs: SqsPort,
  config: LoaderConfig,
): Promise<{ messageId: string; receiptHandle: string; body: string }[]> {
  const max = config.maxMessages ?? 1000;
  const messages: { messageId: string; receiptHandle: string; body: string }[] = [];
  const seen = new Set<string>();
  while (messages.length < max) {
    const output = (await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: config.queueUrl,
        MaxNumberOfMessages: Math.min(10, max - messages.length),
        // Long polling of 1 s: short polls sample a subset of SQS hosts and can come back empty
        // while messages wait; an empty long poll is a reliable "drained".
        WaitTimeSeconds: 1,
      }),
    )) as ReceiveMessageResult;
    const batch = output.Messages ?? [];
    if (batch.length === 0) break;
    for (const m of batch) {
      if (!m.MessageId || !m.ReceiptHandle || seen.has(m.MessageId)) continue;
      seen.add(m.MessageId);
      messages.push({ messageId: m.MessageId, receiptHandle: m.ReceiptHandle, body: m.Body ?? "" });
    }
  }
  return messages;
}

async function deleteMessages(sqs: SqsPort, queueUrl: string, messages: readonly ReceivedMessage[]): Promise<string[]> {
  const failures: string[] = [];
  for (let i = 0; i < messages.length; i += 10) {
    const group = messages.slice(i, i + 10);
    const output = (await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: group.map((m, j) => ({ Id: String(j), ReceiptHandle: m.receiptHandle })),
      }),
    )) as DeleteMessageBatchResult;
    for (const f of output.Failed ?? []) {
      const message = group[Number(f.Id)];
      failures.push(`${message?.messageId ?? f.Id}: ${f.Code ?? ""} ${f.Message ?? ""}`.trim());
    }
  }
  return failures;
}
