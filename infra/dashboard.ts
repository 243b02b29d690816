import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { ERROR_OUTPUT_METRIC, FIREHOSE_NAMESPACE } from "./alarms";
import {
  AGENT_NAMESPACE,
  LOADER_DATASET_METRICS,
  LOADER_RUN_METRICS,
  TRANSFORM_RESULT_METRICS,
  agentDestination,
} from "./metrics";

/** One dataset's resources, by the names its metrics carry. */
export interface DashboardDataset {
  readonly dataset: string;
  readonly streamName: string;
  /** The transform function, when the stream has one. */
  readonly transformFunctionName?: string;
  /** The S3 request-metrics filter id counting objects in the dataset's error output. */
  readonly errorOutputFilterId?: string;
}

export interface DashboardLoader {
  readonly functionName: string;
  readonly queueName: string;
  readonly deadLetterQueueName: string;
}

/** Everything the dashboard body is rendered from: plain, resolved names. */
export interface DashboardInput {
  readonly region: string;
  readonly bucketName: string;
  readonly datasets: readonly DashboardDataset[];
  readonly loader?: DashboardLoader;
}

/** A metric line of a widget: namespace, name, dimension name/value pairs, then rendering options. */
export type DashboardMetric = [
  string,
  string,
  ...(string | { readonly stat?: string; readonly label?: string; readonly yAxis?: string })[],
];

interface MetricWidget {
  readonly type: "metric";
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  readonly properties: {
    readonly title: string;
    readonly region: string;
    readonly view: "timeSeries";
    readonly stacked: false;
    readonly period: number;
    readonly stat: string;
    readonly metrics: DashboardMetric[];
  };
}

interface TextWidget {
  readonly type: "text";
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  readonly properties: { readonly markdown: string };
}

export type DashboardWidget = MetricWidget | TextWidget;

/** CloudWatch dashboards are 24 units wide; four widgets of 6 per row. */
const WIDTH = 6;
const HEIGHT = 6;
const PERIOD_SECONDS = 300;

const metric = (
  namespace: string,
  name: string,
  dimensions: Readonly<Record<string, string>>,
  options: { stat?: string; label?: string; yAxis?: string } = {},
): DashboardMetric => [
  namespace,
  name,
  ...Object.entries(dimensions).flat(),
  ...(Object.keys(options).length ? [options] : []),
];

/**
 * Pure: the dashboard body, one row of widgets per dataset (from the stack's specs) and a row for the
 * loader. Every metric is one the stack's resources publish (see infra/metrics.ts).
 */
export function dashboardBody(input: DashboardInput): { widgets: DashboardWidget[] } {
  const widgets: DashboardWidget[] = [];
  let y = 0;
  const row = (title: string, panels: Array<{ title: string; stat: string; metrics: DashboardMetric[] }>) => {
    widgets.push({ type: "text", x: 0, y, width: 24, height: 1, properties: { markdown: `## ${title}` } });
    y += 1;
    panels.forEach((panel, i) => {
      widgets.push({
        type: "metric",
        x: (i % 4) * WIDTH,
        y: y + Math.floor(i / 4) * HEIGHT,
        width: WIDTH,
        height: HEIGHT,
        properties: {
          title: panel.title,
          region: input.region,
          view: "timeSeries",
          stacked: false,
          period: PERIOD_SECONDS,
          stat: panel.stat,
          metrics: panel.metrics,
        },
      });
    });
    y += Math.ceil(panels.length / 4) * HEIGHT;
  };

  for (const d of input.datasets) {
    const stream = { DeliveryStreamName: d.streamName };
    const firehose = (name: string, options: { stat?: string; label?: string; yAxis?: string } = {}) =>
      metric(FIREHOSE_NAMESPACE, name, stream, options);
    const failed: DashboardMetric[] = [
      firehose("FailedConversion.Records", { label: "format-conversion-failed" }),
      firehose("PartitionCountExceeded", { stat: "Maximum", label: "partition limit exceeded" }),
    ];
    if (d.transformFunctionName !== undefined) {
      const rejected = TRANSFORM_RESULT_METRICS.ProcessingFailed;
      failed.push(metric(rejected.namespace, rejected.name, stream, { label: "processing-failed (transform)" }));
    }
    if (d.errorOutputFilterId !== undefined) {
      failed.push(
        metric(
          "AWS/S3",
          ERROR_OUTPUT_METRIC,
          { BucketName: input.bucketName, FilterId: d.errorOutputFilterId },
          { label: "objects written to the error output" },
        ),
      );
    }
    const agent = { Destination: agentDestination(d.streamName) };
    const panels = [
      {
        title: `${d.dataset}: incoming`,
        stat: "Sum",
        metrics: [firehose("IncomingRecords"), firehose("IncomingBytes", { yAxis: "right" })],
      },
      {
        title: `${d.dataset}: delivered`,
        stat: "Sum",
        metrics: [firehose("DeliveryToS3.Records"), firehose("SucceedConversion.Records")],
      },
      { title: `${d.dataset}: failed, by error type`, stat: "Sum", metrics: failed },
      {
        title: `${d.dataset}: freshness (s) and S3 delivery success`,
        stat: "Maximum",
        metrics: [
          firehose("DeliveryToS3.DataFreshness"),
          firehose("DeliveryToS3.Success", { stat: "Minimum", yAxis: "right" }),
        ],
      },
      {
        title: `${d.dataset}: partitions`,
        stat: "Maximum",
        metrics: [firehose("PartitionCount"), firehose("PartitionCountExceeded")],
      },
      {
        title: `${d.dataset}: agent (AWSKinesisAgent)`,
        stat: "Sum",
        metrics: [
          metric(AGENT_NAMESPACE, "RecordSendAttempts", agent),
          metric(AGENT_NAMESPACE, "RecordSendErrors", agent),
          metric(AGENT_NAMESPACE, "ServiceErrors", agent),
          metric(AGENT_NAMESPACE, "BytesSent", agent, { yAxis: "right" }),
        ],
      },
    ];
    if (d.transformFunctionName !== undefined) {
      const fn = { FunctionName: d.transformFunctionName };
      panels.push({
        title: `${d.dataset}: transform results`,
        stat: "Sum",
        metrics: [
          ...Object.values(TRANSFORM_RESULT_METRICS).map((m) => metric(m.namespace, m.name, stream)),
          metric("AWS/Lambda", "Errors", fn, { label: "failed batches" }),
        ],
      });
    }
    row(d.dataset, panels);
  }

  if (input.loader) {
    const fn = { FunctionName: input.loader.functionName };
    const run = (m: { namespace: string; name: string }, options = {}) => metric(m.namespace, m.name, fn, options);
    row("warehouse loader", [
      {
        title: "loader runs and failures",
        stat: "Sum",
        metrics: [
          run(LOADER_RUN_METRICS.runs),
          run(LOADER_RUN_METRICS.loadFailures, { label: "failed dataset loads" }),
          metric("AWS/Lambda", "Errors", fn, { label: "failed runs" }),
        ],
      },
      {
        title: "objects loaded",
        stat: "Sum",
        metrics: [
          run(LOADER_RUN_METRICS.objectsLoaded),
          run(LOADER_RUN_METRICS.objectsFailed),
          ...input.datasets.map((d) =>
            metric(
              LOADER_DATASET_METRICS.objectsLoaded.namespace,
              LOADER_DATASET_METRICS.objectsLoaded.name,
              { ...fn, Dataset: d.dataset },
              { label: d.dataset },
            ),
          ),
        ],
      },
      {
        title: "load queue and dead letters",
        stat: "Maximum",
        metrics: [
          metric(
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            { QueueName: input.loader.queueName },
            { label: "queued" },
          ),
          metric(
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            { QueueName: input.loader.deadLetterQueueName },
            { label: "dead letters" },
          ),
          metric(
            "AWS/SQS",
            "ApproximateAgeOfOldestMessage",
            { QueueName: input.loader.queueName },
            { label: "oldest unloaded (s)", yAxis: "right" },
          ),
        ],
      },
      {
        title: "loader duration (ms)",
        stat: "Maximum",
        metrics: [metric("AWS/Lambda", "Duration", fn)],
      },
    ]);
  }
  return { widgets };
}

export interface DashboardArgs {
  readonly namePrefix: string;
  readonly region: pulumi.Input<string>;
  readonly bucketName: pulumi.Input<string>;
  readonly datasets: ReadonlyArray<{
    readonly dataset: string;
    readonly streamName: pulumi.Input<string>;
    readonly transformFunctionName?: pulumi.Input<string>;
    readonly errorOutputFilterId?: string;
  }>;
  /** @default none (a stack without a warehouse) */
  readonly loader?: {
    readonly functionName: pulumi.Input<string>;
    readonly queueName: pulumi.Input<string>;
    readonly deadLetterQueueName: pulumi.Input<string>;
  };
}

/** The stack's CloudWatch dashboard, `<prefix>`, rendered from the delivery specs by `dashboardBody`. */
export class Dashboard extends pulumi.ComponentResource {
  readonly dashboard: aws.cloudwatch.Dashboard;
  readonly dashboardName: pulumi.Output<string>;

  constructor(name: string, args: DashboardArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tributary:dashboard:Dashboard", name, {}, opts);
    const datasets = pulumi.all(
      args.datasets.map((d) =>
        pulumi
          .all([d.streamName, d.transformFunctionName])
          .apply(([streamName, transformFunctionName]): DashboardDataset => ({
            dataset: d.dataset,
            streamName,
            ...(transformFunctionName !== undefined ? { transformFunctionName } : {}),
            ...(d.errorOutputFilterId !== undefined ? { errorOutputFilterId: d.errorOutputFilterId } : {}),
          })),
      ),
    );
    const loader = args.loader
      ? pulumi
          .all([args.loader.functionName, args.loader.queueName, args.loader.deadLetterQueueName])
          .apply(([functionName, queueName, deadLetterQueueName]) => ({ functionName, queueName, deadLetterQueueName }))
      : undefined;
    this.dashboard = new aws.cloudwatch.Dashboard(
      `${name}-dashboard`,
      {
        dashboardName: args.namePrefix,
        dashboardBody: pulumi
          .all([args.region, args.bucketName, datasets, loader])
          .apply(([region, bucketName, resolved, resolvedLoader]) =>
            JSON.stringify(
              dashboardBody({
                region,
                bucketName,
                datasets: resolved,
                ...(resolvedLoader ? { loader: resolvedLoader } : {}),
              }),
            ),
          ),
      },
      { parent: this },
    );
    this.dashboardName = this.dashboard.dashboardName;
    this.registerOutputs({ dashboardName: this.dashboardName });
  }
}
