import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { alarmKeyPolicy } from "./iam/kms";
import type { AccountContext } from "./iam/policy";
import { alarmTopicPolicy } from "./iam/sns";
import { TRANSFORM_RESULT_METRICS } from "../src/transform/metrics";

/** Firehose's CloudWatch namespace. */
export const FIREHOSE_NAMESPACE = "AWS/Firehose";
/** Firehose publishes per-stream metrics every minute; alarms look at 5-minute windows. */
export const ALARM_PERIOD_SECONDS = 300;

export interface StreamAlarmSpec {
  /** Child-name suffix. */
  readonly role: string;
  readonly metricName: string;
  readonly statistic: "Maximum" | "Minimum" | "Sum";
  readonly threshold: number;
  /** @default "GreaterThanThreshold" */
  readonly comparison?: "GreaterThanThreshold" | "LessThanThreshold";
  readonly treatMissingData: "missing" | "notBreaching";
  readonly description: string;
}

/**
 * The alarms every stream gets (metric names as Firehose publishes them in AWS/Firehose, dimension
 * DeliveryStreamName). Error counts treat missing data as fine: Firehose only emits them when
 * something happens. Freshness treats it as missing: an idle stream emits no freshness at all, which
 * proves neither health nor failure, so the alarm keeps its last state.
 */
export function streamAlarmSpecs(freshnessThresholdSeconds: number): readonly StreamAlarmSpec[] {
  return [
    {
      role: "freshness",
      metricName: "DeliveryToS3.DataFreshness",
      statistic: "Maximum",
      threshold: freshnessThresholdSeconds,
      treatMissingData: "missing",
      description: `the oldest undelivered record is older than ${freshnessThresholdSeconds} s: delivery to S3 is stuck or failing (see the stream's log group)`,
    },
    {
      role: "throttled",
      metricName: "ThrottledRecords",
      statistic: "Sum",
      threshold: 0,
      treatMissingData: "notBreaching",
      description:
        "producers are being throttled: agents retry and fall behind; raise the stream's quota or pack more lines per record",
    },
    {
      role: "conversion-failed",
      metricName: "FailedConversion.Records",
      statistic: "Sum",
      threshold: 0,
      treatMissingData: "notBreaching",
      description: "records failed Parquet conversion and went to errors/<dataset>/format-conversion-failed/",
    },
    {
      role: "partitions-exceeded",
      metricName: "PartitionCountExceeded",
      statistic: "Maximum",
      threshold: 0,
      treatMissingData: "notBreaching",
      description:
        "the active partition limit was exceeded; records went to the error prefix. Partition on lower-cardinality keys or raise the limit",
    },
    {
      role: "delivery-success",
      metricName: "DeliveryToS3.Success",
      statistic: "Minimum",
      threshold: 1,
      comparison: "LessThanThreshold",
      treatMissingData: "notBreaching",
      description:
        "some writes to the lake bucket failed (DeliveryToS3.Success below 1): Firehose retries for up to 24 h, then discards the data. Check the stream's log group (S3/KMS access denied, a deleted key or bucket)",
    },
  ];
}

/** The S3 request metric (AWS/S3, filtered by prefix) that counts objects written to a stream's error output. */
export const ERROR_OUTPUT_METRIC = "PutRequests";

/** The request-metrics filter id for a dataset's error output (the metric's FilterId dimension). */
export function errorOutputFilterId(dataset: string): string {
  return `errors-${dataset}`.slice(0, 64);
}

/** The fixed part of an error output prefix, before its first `!{…}` expression. */
export function staticPrefix(prefix: string): string {
  return prefix.split("!{")[0];
}

export interface AlarmsArgs {
  readonly namePrefix: string;
  readonly account: pulumi.Input<AccountContext>;
  /** dataset name → stream name */
  readonly streams: Readonly<Record<string, pulumi.Input<string>>>;
  /**
   * dataset → transform function name. A batch the function fails (throws, times out) is retried by
   * Firehose and then written to errors/<dataset>/processing-failed/: alarm on the first.
   * @default none
   */
  readonly transformFunctions?: Readonly<Record<string, pulumi.Input<string>>>;
  /**
   * The lake bucket and each dataset's error output prefix: a request metric per prefix counts the
   * objects Firehose writes there (it publishes no metric for records sent to the error output).
   * @default none
   */
  readonly errorOutput?: {
    readonly bucketName: pulumi.Input<string>;
    /** dataset → its error output prefix (`errors/<dataset>/!{firehose:error-output-type}/…`). */
    readonly prefixes: Readonly<Record<string, string>>;
  };
  /** Seconds of DeliveryToS3.DataFreshness above which delivery counts as stuck. */
  readonly freshnessThresholdSeconds: number;
  /** Subscribes this address to the topic (AWS sends a confirmation mail first). @default none */
  readonly email?: string;
  readonly keyDeletionWindowDays: number;
  readonly tags: Readonly<Record<string, string>>;
}

/**
 * Per-stream CloudWatch alarms (freshness, throttling, failed conversions, exceeded partitions) and
 * per-transform-function error alarms that notify an SNS topic encrypted with its own KMS key, with an
 * optional e-mail subscription.
 */
export class Alarms extends pulumi.ComponentResource {
  readonly key: aws.kms.Key;
  readonly topic: aws.sns.Topic;
  /** dataset name → alarms of its stream */
  readonly alarms: Readonly<Record<string, readonly aws.cloudwatch.MetricAlarm[]>>;
  readonly topicArn: pulumi.Output<string>;

  constructor(name: string, args: AlarmsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tributary:alarms:Alarms", name, {}, opts);
    const account = pulumi.output(args.account);

    this.key = new aws.kms.Key(
      `${name}-key`,
      {
        description: `${args.namePrefix}: alarm notifications topic`,
        enableKeyRotation: true,
        deletionWindowInDays: args.keyDeletionWindowDays,
        policy: account.apply((a) => JSON.stringify(alarmKeyPolicy(a))),
        tags: { ...args.tags },
      },
      { parent: this },
    );
    new aws.kms.Alias(
      `${name}-key-alias`,
      { name: `alias/${args.namePrefix}-alarms`, targetKeyId: this.key.keyId },
      { parent: this },
    );
    this.topic = new aws.sns.Topic(
      `${name}-topic`,
      { name: `${args.namePrefix}-alarms`, kmsMasterKeyId: this.key.arn, tags: { ...args.tags } },
      { parent: this },
    );
    new aws.sns.TopicPolicy(
      `${name}-topic-policy`,
      {
        arn: this.topic.arn,
        policy: pulumi.all([this.topic.arn, account]).apply(([arn, a]) => JSON.stringify(alarmTopicPolicy(arn, a))),
      },
      { parent: this },
    );
    if (args.email !== undefined) {
      new aws.sns.TopicSubscription(
        `${name}-email`,
        { topic: this.topic.arn, protocol: "email", endpoint: args.email },
        { parent: this },
      );
    }

    const alarms: Record<string, aws.cloudwatch.MetricAlarm[]> = {};
    const add = (
      dataset: string,
      role: string,
      alarm: {
        name: pulumi.Input<string>;
        description: pulumi.Input<string>;
        namespace: string;
        metricName: string;
        dimensions: Record<string, pulumi.Input<string>>;
        statistic: StreamAlarmSpec["statistic"];
        threshold: number;
        comparison?: StreamAlarmSpec["comparison"];
        treatMissingData: StreamAlarmSpec["treatMissingData"];
      },
      opts: pulumi.CustomResourceOptions = {},
    ) => {
      const resource = new aws.cloudwatch.MetricAlarm(
        `${name}-${dataset}-${role}`,
        {
          name: alarm.name,
          alarmDescription: alarm.description,
          namespace: alarm.namespace,
          metricName: alarm.metricName,
          dimensions: alarm.dimensions,
          statistic: alarm.statistic,
          period: ALARM_PERIOD_SECONDS,
          evaluationPeriods: 1,
          comparisonOperator: alarm.comparison ?? "GreaterThanThreshold",
          threshold: alarm.threshold,
          treatMissingData: alarm.treatMissingData,
          alarmActions: [this.topic.arn],
          okActions: [this.topic.arn],
          tags: { ...args.tags },
        },
        { parent: this, ...opts },
      );
      alarms[dataset] = [...(alarms[dataset] ?? []), resource];
    };
    const specs = streamAlarmSpecs(args.freshnessThresholdSeconds);
    for (const [dataset, streamName] of Object.entries(args.streams)) {
      for (const spec of specs) {
        add(dataset, spec.role, {
          ...spec,
          name: pulumi.interpolate`${streamName} ${spec.metricName}`,
          description: pulumi.interpolate`${streamName}: ${spec.description}`,
          namespace: FIREHOSE_NAMESPACE,
          dimensions: { DeliveryStreamName: streamName },
        });
      }
    }
    for (const [dataset, functionName] of Object.entries(args.transformFunctions ?? {})) {
      add(dataset, "transform-errors", {
        name: pulumi.interpolate`${functionName} Errors`,
        description: pulumi.interpolate`${functionName}: the transform failed whole batches; Firehose retries them, then writes them to errors/${dataset}/processing-failed/ (see the function's log group)`,
        namespace: "AWS/Lambda",
        metricName: "Errors",
        dimensions: { FunctionName: functionName },
        statistic: "Sum",
        threshold: 0,
        treatMissingData: "notBreaching",
      });
      const streamName = args.streams[dataset];
      if (streamName === undefined) continue;
      const rejected = TRANSFORM_RESULT_METRICS.ProcessingFailed;
      add(dataset, "transform-rejected", {
        name: pulumi.interpolate`${streamName} ${rejected.name}`,
        description: pulumi.interpolate`${streamName}: the transform rejected records (ProcessingFailed; a log format change?). They are in errors/${dataset}/processing-failed/ with the reason in the function's log; fix the format, then re-drive them`,
        namespace: rejected.namespace,
        metricName: rejected.name,
        dimensions: { DeliveryStreamName: streamName },
        statistic: "Sum",
        threshold: 0,
        treatMissingData: "notBreaching",
      });
    }
    for (const [dataset, prefix] of Object.entries(args.errorOutput?.prefixes ?? {})) {
      const streamName = args.streams[dataset];
      if (streamName === undefined || args.errorOutput === undefined) continue;
      const filterId = errorOutputFilterId(dataset);
      // A request metric costs like a custom metric; it is the only per-prefix count of error objects.
      const metric = new aws.s3.BucketMetric(
        `${name}-${dataset}-error-output-metric`,
        { bucket: args.errorOutput.bucketName, name: filterId, filter: { prefix: staticPrefix(prefix) } },
        { parent: this },
      );
      add(
        dataset,
        "error-output",
        {
          name: pulumi.interpolate`${streamName} error output`,
          description: pulumi.interpolate`${streamName}: records were written to the error output ${staticPrefix(prefix)} (the folder below it names the error type); run \`tributary status\` to see which, fix the cause, then re-drive them`,
          namespace: "AWS/S3",
          metricName: ERROR_OUTPUT_METRIC,
          dimensions: { BucketName: args.errorOutput.bucketName, FilterId: filterId },
          statistic: "Sum",
          threshold: 0,
          treatMissingData: "notBreaching",
        },
        { dependsOn: [metric] },
      );
    }
    this.alarms = alarms;
    this.topicArn = this.topic.arn;
    this.registerOutputs({ topicArn: this.topicArn });
  }
}
