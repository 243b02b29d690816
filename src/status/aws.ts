import {
  GetMetricDataCommand,
  type GetMetricDataCommandInput,
  type GetMetricDataCommandOutput,
  type MetricDataQuery,
} from "@aws-sdk/client-cloudwatch";
import { GetQueueAttributesCommand, type GetQueueAttributesCommandOutput } from "@aws-sdk/client-sqs";
import { TributaryError } from "../errors";
import type { RedshiftDataPort, RedshiftTarget } from "../loader/data-api";
import { runRedshiftQuery } from "../cli/query";
import { TRANSFORM_RESULT_METRICS } from "../transform/metrics";
import { LEDGER_TABLE, qualifiedName } from "../warehouse/tables";
import { judgeDataset, type DatasetFacts, type LoaderFacts } from "./verdict";
import type { StatusReport } from "./format";

/**
 * Status of a stack on AWS: CloudWatch for what arrived, was delivered and failed (Firehose's metrics
 * and the transform's EMF metric, over the last `windowHours`), SQS for the loader's queues, and the
 * warehouse's load ledger through the Data API. Clients come in as ports, so the requests are testable.
 */
export interface AwsStatusPorts {
  readonly cloudwatch: { send(command: GetMetricDataCommand): Promise<unknown> };
  readonly sqs: { send(command: GetQueueAttributesCommand): Promise<unknown> };
  readonly redshiftData?: RedshiftDataPort;
}

export interface AwsStatusTargets {
  readonly stack: string;
  /** dataset → delivery stream name (the stack's `streams` output). */
  readonly streams: Readonly<Record<string, string>>;
  readonly loadQueueUrl?: string;
  readonly deadLetterQueueUrl?: string;
  readonly warehouse?: RedshiftTarget;
}

export interface AwsStatusOptions {
  readonly now: Date;
  readonly lateAfterSeconds: number;
  /** How far back CloudWatch is read. @default 24 */
  readonly windowHours?: number;
}

const PERIOD_SECONDS = 300;

/** Pure: the GetMetricData request (one query per stream and metric). */
export function statusMetricQueries(targets: AwsStatusTargets, options: AwsStatusOptions): GetMetricDataCommandInput {
  const window = (options.windowHours ?? 24) * 3600 * 1000;
  const queries: MetricDataQuery[] = [];
  const stat = (id: string, namespace: string, metricName: string, name: string, value: string, statName = "Sum") =>
    queries.push({
      Id: id,
      MetricStat: {
        Metric: { Namespace: namespace, MetricName: metricName, Dimensions: [{ Name: name, Value: value }] },
        Period: PERIOD_SECONDS,
        Stat: statName,
      },
      ReturnData: true,
    });
  Object.values(targets.streams).forEach((stream, i) => {
    stat(`received${i}`, "AWS/Firehose", "IncomingRecords", "DeliveryStreamName", stream);
    stat(`delivered${i}`, "AWS/Firehose", "DeliveryToS3.Records", "DeliveryStreamName", stream);
    stat(`conversion${i}`, "AWS/Firehose", "FailedConversion.Records", "DeliveryStreamName", stream);
    const rejected = TRANSFORM_RESULT_METRICS.ProcessingFailed;
    stat(`rejected${i}`, rejected.namespace, rejected.name, "DeliveryStreamName", stream);
  });
  if (targets.loadQueueUrl) {
    const queueName = targets.loadQueueUrl.slice(targets.loadQueueUrl.lastIndexOf("/") + 1);
    stat("queueage", "AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", queueName, "Maximum");
  }
  return {
    MetricDataQueries: queries,
    StartTime: new Date(options.now.getTime() - window),
    EndTime: options.now,
    ScanBy: "TimestampDescending",
  };
}

/** The SQL that reads each dataset's last load (time and objects) and the ledger's totals. */
export function lastLoadSql(): string {
  const ledger = qualifiedName(LEDGER_TABLE);
  return (
    `SELECT l.dataset, l.loaded_at, COUNT(*) AS objects FROM ${ledger} l ` +
    `JOIN (SELECT dataset, MAX(loaded_at) AS at FROM ${ledger} GROUP BY dataset) m ` +
    `ON l.dataset = m.dataset AND l.loaded_at = m.at GROUP BY l.dataset, l.loaded_at`
  );
}

async function queueDepth(ports: AwsStatusPorts, url: string): Promise<number> {
  const output = (await ports.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    }),
  )) as GetQueueAttributesCommandOutput;
  const a = output.Attributes ?? {};
  return Number(a.ApproximateNumberOfMessages ?? 0) + Number(a.ApproximateNumberOfMessagesNotVisible ?? 0);
}

export async function readAwsStatus(
  ports: AwsStatusPorts,
  targets: AwsStatusTargets,
  options: AwsStatusOptions,
): Promise<StatusReport> {
  const series = new Map<string, Array<{ at: Date; value: number }>>();
  const request = statusMetricQueries(targets, options);
  let nextToken: string | undefined;
  do {
    const output = (await ports.cloudwatch.send(
      new GetMetricDataCommand({ ...request, ...(nextToken ? { NextToken: nextToken } : {}) }),
    )) as GetMetricDataCommandOutput;
    for (const result of output.MetricDataResults ?? []) {
      const points = series.get(result.Id ?? "") ?? [];
      (result.Timestamps ?? []).forEach((at, i) => points.push({ at: new Date(at), value: result.Values?.[i] ?? 0 }));
      series.set(result.Id ?? "", points);
    }
    nextToken = output.NextToken;
  } while (nextToken);
  const lastNonZero = (id: string) =>
    (series.get(id) ?? []).filter((p) => p.value > 0).sort((a, b) => b.at.getTime() - a.at.getTime())[0]?.at;
  const total = (id: string) => (series.get(id) ?? []).reduce((s, p) => s + p.value, 0);

  const warnings: string[] = [];
  const loads = new Map<string, { at: Date; objects: number }>();
  if (targets.warehouse && ports.redshiftData) {
    try {
      const result = await runRedshiftQuery(ports.redshiftData, targets.warehouse, lastLoadSql(), {
        timeoutMs: 60_000,
      });
      for (const [dataset, loadedAt, objects] of result.rows) {
        loads.set(String(dataset), {
          at: new Date(`${String(loadedAt).replace(" ", "T")}Z`),
          objects: Number(objects),
        });
      }
    } catch (err) {
      warnings.push(`the load ledger could not be read (${(err as Error).message}); load facts are missing`);
    }
  }
  const loader: LoaderFacts = {
    ...(targets.loadQueueUrl ? { queued: await queueDepth(ports, targets.loadQueueUrl) } : {}),
    ...(targets.deadLetterQueueUrl ? { deadLetters: await queueDepth(ports, targets.deadLetterQueueUrl) } : {}),
    ...(series.has("queueage")
      ? { oldestQueuedSeconds: Math.max(0, ...(series.get("queueage") ?? []).map((p) => p.value)) }
      : {}),
  };
  const target = `--stack ${targets.stack}`;
  const datasets = Object.entries(targets.streams).map(([dataset, stream], i) => {
    const lastReceivedAt = lastNonZero(`received${i}`);
    const lastDeliveredAt = lastNonZero(`delivered${i}`);
    const load = loads.get(dataset);
    const facts: DatasetFacts = {
      dataset,
      stream,
      ...(lastReceivedAt ? { lastReceivedAt } : {}),
      ...(lastDeliveredAt ? { lastDeliveredAt } : {}),
      errorRecords: {
        "format-conversion-failed": total(`conversion${i}`),
        "processing-failed": total(`rejected${i}`),
      },
      ...(load ? { lastLoad: load } : {}),
    };
    const status = judgeDataset(facts, { now: options.now, lateAfterSeconds: options.lateAfterSeconds, target });
    if ((loader.deadLetters ?? 0) > 0 && status.verdict !== "FAILING") {
      return {
        ...status,
        verdict: "FAILING" as const,
        reasons: [...status.reasons, `${loader.deadLetters} load notification(s) in the dead-letter queue`],
        actions: [
          ...status.actions,
          `read the loader's log, fix, then: tributary redrive --stack ${targets.stack} --loader-dlq`,
        ],
      };
    }
    return status;
  });
  return {
    target: `stack ${targets.stack} (CloudWatch over the last ${options.windowHours ?? 24} h)`,
    checkedAt: options.now,
    lateAfterSeconds: options.lateAfterSeconds,
    datasets,
    warnings,
    loader,
  };
}

/** The targets from the stack's outputs (`streams`, `loadQueueUrl`, `loadDeadLetterQueueUrl`). */
export function targetsFromOutputs(stack: string, outputs: unknown, warehouse?: RedshiftTarget): AwsStatusTargets {
  const o = (outputs ?? {}) as Record<string, unknown>;
  const streams = o.streams as Record<string, string> | undefined;
  if (!streams || typeof streams !== "object") {
    throw new TributaryError(
      "TRIBUTARY_STACK_NO_STREAMS",
      `Stack ${stack} has no "streams" output; deploy it (pulumi up) first.`,
    );
  }
  return {
    stack,
    streams,
    ...(typeof o.loadQueueUrl === "string" ? { loadQueueUrl: o.loadQueueUrl } : {}),
    ...(typeof o.loadDeadLetterQueueUrl === "string" ? { deadLetterQueueUrl: o.loadDeadLetterQueueUrl } : {}),
    ...(warehouse ? { warehouse } : {}),
  };
}
