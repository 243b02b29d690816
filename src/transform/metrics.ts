import { emfDocument, writeEmfLine, type EmittedMetric } from "../metrics/emf";
import type { FirehoseTransformationResult } from "./handler";

/**
 * The transform's own metrics: records per result type per batch, published as an EMF log line (no
 * API call), dimension DeliveryStreamName like Firehose's own metrics. Alarms and the dashboard read
 * these definitions, so a name is written once.
 */
export const TRANSFORM_METRICS_NAMESPACE = "Tributary/Transform";

export const TRANSFORM_RESULT_METRICS: Readonly<Record<FirehoseTransformationResult, EmittedMetric>> = {
  Ok: {
    namespace: TRANSFORM_METRICS_NAMESPACE,
    name: "Records.Ok",
    dimensions: ["DeliveryStreamName"],
    unit: "Count",
  },
  Dropped: {
    namespace: TRANSFORM_METRICS_NAMESPACE,
    name: "Records.Dropped",
    dimensions: ["DeliveryStreamName"],
    unit: "Count",
  },
  ProcessingFailed: {
    namespace: TRANSFORM_METRICS_NAMESPACE,
    name: "Records.ProcessingFailed",
    dimensions: ["DeliveryStreamName"],
    unit: "Count",
  },
};

/** The stream name in a Firehose ARN (`arn:aws:firehose:<region>:<account>:deliverystream/<name>`). */
export function streamNameOfArn(arn: string): string {
  return arn.slice(arn.lastIndexOf("/") + 1);
}

/**
 * The EMF document for one batch: every result type, zeros included, so an alarm on
 * Records.ProcessingFailed sees 0 (healthy) rather than no data while records flow.
 */
export function transformResultDocument(
  deliveryStreamArn: string,
  results: readonly { readonly result: FirehoseTransformationResult }[],
  timestampMs: number,
): Record<string, unknown> {
  const counts: Record<FirehoseTransformationResult, number> = { Ok: 0, Dropped: 0, ProcessingFailed: 0 };
  for (const r of results) counts[r.result]++;
  return emfDocument(
    TRANSFORM_METRICS_NAMESPACE,
    { DeliveryStreamName: streamNameOfArn(deliveryStreamArn) },
    (Object.keys(counts) as FirehoseTransformationResult[]).map((result) => ({
      metric: TRANSFORM_RESULT_METRICS[result],
      value: counts[result],
    })),
    timestampMs,
  );
}

/** Where a handler sends its metric documents; the offline lake and tests pass their own. */
export type MetricsSink = (document: Record<string, unknown>) => void;

export const stdoutMetricsSink: MetricsSink = writeEmfLine;
