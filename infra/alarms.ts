import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { alarmKeyPolicy } from "./iam/kms";
import type { AccountContext } from "./iam/policy";
import { alarmTopicPolicy } from "./iam/sns";

/** Firehose's CloudWatch namespace. */
export const FIREHOSE_NAMESPACE = "AWS/Firehose";
/** Firehose publishes per-stream metrics every minute; alarms look at 5-minute windows. */
export const ALARM_PERIOD_SECONDS = 300;

export interface StreamAlarmSpec {
  /** Child-name suffix. */
  readonly role: string;
  readonly metricName: string;
  readonly statistic: "Maximum" | "Sum";
  readonly threshold: number;
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
  ];
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
    const specs = streamAlarmSpecs(args.freshnessThresholdSeconds);
    for (const [dataset, streamName] of Object.entries(args.streams)) {
      alarms[dataset] = specs.map(
        (spec) =>
          new aws.cloudwatch.MetricAlarm(
            `${name}-${dataset}-${spec.role}`,
            {
              name: pulumi.interpolate`${streamName} ${spec.metricName}`,
              alarmDescription: pulumi.interpolate`${streamName}: ${spec.description}`,
              namespace: FIREHOSE_NAMESPACE,
              metricName: spec.metricName,
              dimensions: { DeliveryStreamName: streamName },
              statistic: spec.statistic,
              period: ALARM_PERIOD_SECONDS,
              evaluationPeriods: 1,
              comparisonOperator: "GreaterThanThreshold",
              threshold: spec.threshold,
              treatMissingData: spec.treatMissingData,
              alarmActions: [this.topic.arn],
              okActions: [this.topic.arn],
              tags: { ...args.tags },
            },
            { parent: this },
          ),
      );
    }
    for (const [dataset, functionName] of Object.entries(args.transformFunctions ?? {})) {
      alarms[dataset] = [
        ...(alarms[dataset] ?? []),
        new aws.cloudwatch.MetricAlarm(
          `${name}-${dataset}-transform-errors`,
          {
            name: pulumi.interpolate`${functionName} Errors`,
            alarmDescription: pulumi.interpolate`${functionName}: the transform failed whole batches; Firehose retries them, then writes them to errors/${dataset}/processing-failed/ (see the function's log group)`,
            namespace: "AWS/Lambda",
            metricName: "Errors",
            dimensions: { FunctionName: functionName },
            statistic: "Sum",
            period: ALARM_PERIOD_SECONDS,
            evaluationPeriods: 1,
            comparisonOperator: "GreaterThanThreshold",
            threshold: 0,
            treatMissingData: "notBreaching",
            alarmActions: [this.topic.arn],
            okActions: [this.topic.arn],
            tags: { ...args.tags },
          },
          { parent: this },
        ),
      ];
    }
    this.alarms = alarms;
    this.topicArn = this.topic.arn;
    this.registerOutputs({ topicArn: this.topicArn });
  }
}
