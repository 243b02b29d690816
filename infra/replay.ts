import { FirehoseClient } from "@aws-sdk/client-firehose";
import { S3Client } from "@aws-sdk/client-s3";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { Dataset } from "../src/datasets/types";
import packageJson from "../package.json";
// Imported at the top on purpose: Pulumi serializes the functions this module references into the
// Lambda's code. A require() inside the factory would not be bundled and would fail in Lambda.
import { replayS3Event, type ReplayEventReport, type S3ObjectCreatedEvent } from "../src/replay/lambda";
import { rawFilesPrefix, REPLAY_CHECKPOINT_PREFIX } from "../src/spec/names";
import { replayPolicy } from "./iam/replay";
import { serviceTrustPolicy, type AccountContext } from "./iam/policy";
import type { LambdaNotificationRule } from "./lake-notifications";

export const REPLAY_RUNTIME = "nodejs22.x";
/** Memory buys CPU in Lambda; parsing and packing lines is CPU-bound. */
export const REPLAY_MEMORY_MB = 1024;
/** Lambda's longest: a file that needs longer continues in the next attempt from its checkpoint. */
export const REPLAY_TIMEOUT_SECONDS = 900;
/** Time kept back at the end of an invocation to send what was read and write the checkpoint. */
export const REPLAY_RESERVE_MS = 60_000;
/**
 * Attempts after the first (Lambda's asynchronous retries, at most 2). Each starts from the checkpoint,
 * so a file is given up on (its event parked in the dead-letter queue) only after three invocations.
 */
export const REPLAY_RETRY_ATTEMPTS = 2;
export const DEAD_LETTER_RETENTION_SECONDS = 14 * 24 * 3600;

/**
 * The serialized replay requires @aws-sdk/* (in the Lambda runtime), Node built-ins and csv-parse (the
 * agent chain's CSVTOJSON: no dependencies of its own), which the zip carries.
 */
export const REPLAY_BUNDLED_PACKAGES: readonly string[] = ["csv-parse"];
export const REPLAY_EXCLUDED_PACKAGES: readonly string[] = Object.keys(packageJson.dependencies).filter(
  (name) => !REPLAY_BUNDLED_PACKAGES.includes(name),
);

/** Environment variables the replay Lambda reads. */
export const REPLAY_ENV = {
  /** JSON: dataset name → delivery stream name. */
  streams: "TRIBUTARY_REPLAY_STREAMS",
} as const;

export interface ReplayArgs {
  readonly namePrefix: string;
  readonly account: pulumi.Input<AccountContext>;
  readonly datasets: readonly Dataset[];
  /** dataset name → its delivery stream */
  readonly streams: Readonly<
    Record<string, { readonly name: pulumi.Input<string>; readonly arn: pulumi.Input<string> }>
  >;
  readonly lake: {
    readonly bucketName: pulumi.Input<string>;
    readonly bucketArn: pulumi.Input<string>;
    readonly keyArn: pulumi.Input<string>;
  };
  readonly logRetentionDays: number;
  readonly logKeyArn: pulumi.Input<string>;
  readonly alarmTopicArn: pulumi.Input<string>;
  readonly tags: Readonly<Record<string, string>>;
}

/**
 * Backfill: an object `tributary upload` stores under `raw/<dataset>/files/` is replayed into the
 * dataset's stream by this Lambda, triggered by the S3 event (src/replay). It stops reading a minute
 * before its timeout, checkpoints, and fails the invocation so Lambda's asynchronous retry continues
 * from the checkpoint; an event that fails every attempt goes to the dead-letter queue, which alarms.
 *
 * It does not own the bucket's notification configuration (a bucket has one): it exposes
 * `notificationRules`, one per dataset, for LakeNotifications, with the invoke permission they need.
 */
export class Replay extends pulumi.ComponentResource {
  readonly role: aws.iam.Role;
  readonly logGroup: aws.cloudwatch.LogGroup;
  readonly deadLetterQueue: aws.sqs.Queue;
  readonly function: aws.lambda.CallbackFunction<S3ObjectCreatedEvent, ReplayEventReport>;
  readonly permission: aws.lambda.Permission;
  readonly alarms: readonly aws.cloudwatch.MetricAlarm[];
  /** One rule per dataset: ObjectCreated under raw/<dataset>/files/ invokes the function. */
  readonly notificationRules: readonly LambdaNotificationRule[];
  readonly functionName: pulumi.Output<string>;

  constructor(name: string, args: ReplayArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tributary:replay:Replay", name, {}, opts);
    const tags = { ...args.tags };
    const functionName = `${args.namePrefix}-replay`;
    const account = pulumi.output(args.account);
    const datasetNames = args.datasets.map((d) => d.name);
    const missing = datasetNames.filter((n) => !args.streams[n]);
    if (missing.length > 0) throw new Error(`Replay: no stream given for ${missing.join(", ")}`);

    this.deadLetterQueue = new aws.sqs.Queue(
      `${name}-dlq`,
      {
        name: `${args.namePrefix}-replay-dlq`,
        sqsManagedSseEnabled: true,
        messageRetentionSeconds: DEAD_LETTER_RETENTION_SECONDS,
        tags,
      },
      { parent: this },
    );
    this.logGroup = new aws.cloudwatch.LogGroup(
      `${name}-logs`,
      { name: `/aws/lambda/${functionName}`, retentionInDays: args.logRetentionDays, kmsKeyId: args.logKeyArn, tags },
      { parent: this },
    );
    this.role = new aws.iam.Role(
      `${name}-role`,
      {
        name: functionName,
        description: "Replays files uploaded under raw/<dataset>/files/ into the datasets' delivery streams",
        assumeRolePolicy: JSON.stringify(serviceTrustPolicy("lambda.amazonaws.com")),
        tags,
      },
      { parent: this },
    );
    const streamArns = pulumi.all(datasetNames.map((n) => args.streams[n].arn));
    const rolePolicy = new aws.iam.RolePolicy(
      `${name}-role-policy`,
      {
        role: this.role.id,
        policy: pulumi
          .all([
            account,
            args.lake.bucketArn,
            args.lake.keyArn,
            streamArns,
            this.deadLetterQueue.arn,
            this.logGroup.arn,
          ])
          .apply(([a, bucketArn, lakeKeyArn, arns, deadLetterQueueArn, logGroupArn]) =>
            JSON.stringify(
              replayPolicy({
                region: a.region,
                bucketArn,
                rawPrefix: "raw/",
                checkpointPrefix: REPLAY_CHECKPOINT_PREFIX,
                streamArns: arns,
                lakeKeyArn,
                deadLetterQueueArn,
                logGroupArn,
              }),
            ),
          ),
      },
      { parent: this },
    );

    // Plain data only: what replay needs of each dataset (line spec, and timestamp formats to know
    // whether records need a reference time), copied into the function's code by the serializer.
    const replayDatasets = args.datasets.map((d) => ({
      name: d.name,
      source: {
        agentProcessing: d.source.agentProcessing,
        ...(d.source.skipHeaderLines !== undefined ? { skipHeaderLines: d.source.skipHeaderLines } : {}),
        ...(d.source.fileVariants !== undefined ? { fileVariants: d.source.fileVariants } : {}),
        ...(d.source.encoding !== undefined ? { encoding: d.source.encoding } : {}),
      },
      ...(d.transform ? { transform: { columns: d.transform.columns.filter((c) => c.timestamp !== undefined) } } : {}),
    }));
    const streamNames = pulumi
      .all(datasetNames.map((n) => args.streams[n].name))
      .apply((names) => JSON.stringify(Object.fromEntries(datasetNames.map((n, i) => [n, names[i]]))));
    this.function = new aws.lambda.CallbackFunction<S3ObjectCreatedEvent, ReplayEventReport>(
      `${name}-function`,
      {
        name: functionName,
        description: "Replays raw files into their datasets' streams (tributary upload → backfill)",
        role: this.role,
        runtime: REPLAY_RUNTIME,
        timeout: REPLAY_TIMEOUT_SECONDS,
        memorySize: REPLAY_MEMORY_MB,
        loggingConfig: { logFormat: "Text", logGroup: this.logGroup.name },
        codePathOptions: { extraExcludePackages: [...REPLAY_EXCLUDED_PACKAGES] },
        environment: { variables: { [REPLAY_ENV.streams]: streamNames } },
        callbackFactory: () => {
          // Clients are created here, once per container: an SDK client in module scope cannot be
          // serialized. Their endpoints follow the standard variables (AWS_ENDPOINT_URL_S3, …).
          const s3 = new S3Client({});
          const firehose = new FirehoseClient({});
          return async (event: S3ObjectCreatedEvent, context: aws.lambda.Context): Promise<ReplayEventReport> =>
            replayS3Event(event, {
              s3,
              firehose,
              datasets: replayDatasets,
              streams: JSON.parse(process.env.TRIBUTARY_REPLAY_STREAMS ?? "{}") as Record<string, string>,
              shouldStop: () => context.getRemainingTimeInMillis() < REPLAY_RESERVE_MS,
            });
        },
        tags,
      },
      { parent: this, dependsOn: [this.logGroup, rolePolicy] },
    );
    new aws.lambda.FunctionEventInvokeConfig(
      `${name}-invoke-config`,
      {
        functionName: this.function.name,
        maximumRetryAttempts: REPLAY_RETRY_ATTEMPTS,
        destinationConfig: { onFailure: { destination: this.deadLetterQueue.arn } },
      },
      { parent: this, dependsOn: [rolePolicy] },
    );
    this.permission = new aws.lambda.Permission(
      `${name}-s3-permission`,
      {
        action: "lambda:InvokeFunction",
        function: this.function.name,
        principal: "s3.amazonaws.com",
        sourceArn: args.lake.bucketArn,
        sourceAccount: account.accountId,
      },
      { parent: this },
    );
    this.notificationRules = args.datasets.map((d) => ({
      id: `replay-${d.name}`,
      lambdaFunctionArn: this.function.arn,
      events: ["s3:ObjectCreated:*"],
      filterPrefix: rawFilesPrefix(d),
      permission: this.permission,
    }));

    this.alarms = [
      new aws.cloudwatch.MetricAlarm(
        `${name}-dead-letters`,
        {
          name: `${args.namePrefix}-replay-dead-letters`,
          alarmDescription:
            "a raw file failed to replay after every attempt (its S3 event is in the replay dead-letter queue); read the replay log, fix, then invoke the function with the event again: it resumes from the checkpoint",
          namespace: "AWS/SQS",
          metricName: "ApproximateNumberOfMessagesVisible",
          dimensions: { QueueName: this.deadLetterQueue.name },
          statistic: "Maximum",
          period: 300,
          evaluationPeriods: 1,
          threshold: 0,
          comparisonOperator: "GreaterThanThreshold",
          treatMissingData: "notBreaching",
          alarmActions: [args.alarmTopicArn],
          okActions: [args.alarmTopicArn],
          tags,
        },
        { parent: this },
      ),
    ];
    this.functionName = this.function.name;
    this.registerOutputs({ functionName: this.functionName, deadLetterQueueUrl: this.deadLetterQueue.url });
  }
}
