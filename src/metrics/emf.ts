/**
 * CloudWatch embedded metric format (EMF): a JSON log line that CloudWatch Logs turns into metrics,
 * so a Lambda publishes metrics by logging, with no PutMetricData call, no extra permission and no
 * latency. Spec: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
 */

/** A metric the stack's own code publishes: namespace, name, and the dimension names it carries. */
export interface EmittedMetric {
  readonly namespace: string;
  readonly name: string;
  readonly dimensions: readonly string[];
  readonly unit: "Count" | "Seconds" | "Bytes";
}

/**
 * One EMF document: every metric in `values` under `namespace`, with one dimension set made of the
 * keys of `dimensions`. Values at the top level (as EMF requires), beside any `extra` fields.
 */
export function emfDocument(
  namespace: string,
  dimensions: Readonly<Record<string, string>>,
  values: ReadonlyArray<{ readonly metric: EmittedMetric; readonly value: number }>,
  timestampMs: number,
  extra: Readonly<Record<string, unknown>> = {},
): Record<string, unknown> {
  return {
    ...extra,
    _aws: {
      Timestamp: timestampMs,
      CloudWatchMetrics: [
        {
          Namespace: namespace,
          Dimensions: [Object.keys(dimensions)],
          Metrics: values.map(({ metric }) => ({ Name: metric.name, Unit: metric.unit })),
        },
      ],
    },
    ...dimensions,
    ...Object.fromEntries(values.map(({ metric, value }) => [metric.name, value])),
  };
}

/**
 * Writes one EMF line to stdout. Straight to stdout rather than console.log: the Lambda Node runtime
 * prefixes console.log lines (timestamp, request id, level) in the Text log format.
 */
export function writeEmfLine(document: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(document)}\n`);
}
