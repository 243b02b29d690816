import { RedshiftDataClient } from "@aws-sdk/client-redshift-data";
import { S3Client } from "@aws-sdk/client-s3";
import { SQSClient } from "@aws-sdk/client-sqs";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { warehouseDatasets, type WarehouseDataset } from "../src/datasets/types";
import { TributaryError } from "../src/errors";
// Imported at the top on purpose: Pulumi serializes the functions this module references into the
// Lambda's code. A require() inside the factory would not be bundled and would fail in Lambda.
import { drainAndLoad, type DrainReport, type LoaderConfig } from "../src/loader/drain";
import { s3ObjectColumns } from "../src/loader/parquet-columns";
import { LOADER_RUN_METRICS, loaderRunDocuments } from "../src/loader/metrics";
import { writeEmfLine } from "../src/metrics/emf";
import packageJson from "../package.json";
import { loadQueuePolicy, loaderPolicy } from "./iam/loader";
import { serviceTrustPolicy, type AccountContext } from "./iam/policy";
import type { QueueNotificationRule } from "./lake-notifications";
import { CURATED_PREFIX, MANIFEST_PREFIX, type WarehouseKind } from "./warehouse";

export const LOADER_RUNTIME = "nodejs22.x";
export const LOADER_MEMORY_MB = 512;
/**
 * Time kept back from the Data API wait for what follows it: deleting the acknowledged messages
 * and logging the report. The wait bound is the Lambda's remaining time minus this.
 */
export const LOADER_RESERVE_SECONDS = 30;
/** A message visible again before its run ends would be loaded by the next run as well. */
export const VISIBILITY_MARGIN_SECONDS = 60;
/**
 * How long the load queue keeps a notification the loader has not yet taken. A message moved to the
 * dead-letter queue keeps its original enqueue time, and the DLQ's retention counts from that, so the
 * DLQ must keep messages longer than the queue: with 7 days here and 14 there, a message that reaches
 * the DLQ as late as possible still waits there at least 7 days for someone to act on the alarm.
 */
export const QUEUE_RETENTION_SECONDS = 7 * 24 * 3600;
/** SQS's longest retention, for dead letters (see QUEUE_RETENTION_SECONDS). */
export const DEAD_LETTER_RETENTION_SECONDS = 14 * 24 * 3600;
export const LOADER_ALARM_PERIOD_SECONDS = 300;

/**
 * The one project dependency the loader's zip carries: hyparquet reads each file's columns from its
 * Parquet footer (two ranged GETs), which picks the file's COPY column list after a column was added.
 * It is plain JavaScript with no dependencies of its own (≈ 0.5 MB; an ES module, which the
 * nodejs22.x runtime loads with require()).
 */
export const LOADER_BUNDLED_PACKAGES: readonly string[] = ["hyparquet"];

/**
 * Everything else stays out of the zip: the serialized loader requires only @aws-sdk/* (in the Lambda
 * runtime), Node built-ins and LOADER_BUNDLED_PACKAGES.
 */
export const LOADER_EXCLUDED_PACKAGES: readonly string[] = Object.keys(packageJson.dependencies).filter(
  (name) => !LOADER_BUNDLED_PACKAGES.includes(name),
);

/** Environment variables the loader Lambda reads its settings from. */
export const LOADER_ENV = {
  queueUrl: "TRIBUTARY_QUEUE_URL",
  warehouseKind: "TRIBUTARY_WAREHOUSE_KIND",
  warehouseName: "TRIBUTARY_WAREHOUSE_NAME",
  database: "TRIBUTARY_DATABASE",
  adminSecretArn: "TRIBUTARY_ADMIN_SECRET_ARN",
  copyRoleArn: "TRIBUTARY_COPY_ROLE_ARN",
  manifestBucket: "TRIBUTARY_MANIFEST_BUCKET",
  manifestPrefix: "TRIBUTARY_MANIFEST_PREFIX",
  curatedPrefix: "TRIBUTARY_CURATED_PREFIX",
  maxMessages: "TRIBUTARY_MAX_MESSAGES",
  /** Optional: the analysts' IAM role, mapped to the `analyst` database role by the DDL. */
  analystIamRole: "TRIBUTARY_ANALYST_IAM_ROLE",
  /** Optional: the lake key; with it the loader unloads changed model tables to analytics/. */
  lakeKeyArn: "TRIBUTARY_LAKE_KEY_ARN",
} as const;

/** Variables a loader may run without. */
const OPTIONAL_LOADER_ENV: readonly string[] = [
  LOADER_ENV.maxMessages,
  LOADER_ENV.analystIamRole,
  LOADER_ENV.lakeKeyArn,
];

/**
 * Pure: the loader core's config from the Lambda's environment and its remaining time. Runs inside
 * the Lambda (serialized with the handler); a missing variable is a deployment bug, reported by name.
 */
export function loaderConfigFromEnvironment(
  env: Readonly<Record<string, string | undefined>>,
  remainingTimeMs: number,
  datasets: readonly WarehouseDataset[],
): LoaderConfig {
  const missing = Object.values(LOADER_ENV).filter(
    (key) => !OPTIONAL_LOADER_ENV.includes(key) && (env[key] === undefined || env[key] === ""),
  );
  if (missing.length > 0) {
    throw new TributaryError(
      "TRIBUTARY_LOADER_ENVIRONMENT",
      `The loader Lambda is missing ${missing.join(", ")}; redeploy the stack (the Loader component sets them).`,
    );
  }
  const read = (key: string): string => env[key] ?? "";
  const kind = read(LOADER_ENV.warehouseKind);
  const name = read(LOADER_ENV.warehouseName);
  const maxMessages = Number(env[LOADER_ENV.maxMessages] ?? "");
  return {
    datasets,
    queueUrl: read(LOADER_ENV.queueUrl),
    target: {
      ...(kind === "provisioned" ? { clusterIdentifier: name } : { workgroupName: name }),
      database: read(LOADER_ENV.database),
      secretArn: read(LOADER_ENV.adminSecretArn),
    },
    copyRoleArn: read(LOADER_ENV.copyRoleArn),
    manifestBucket: read(LOADER_ENV.manifestBucket),
    manifestPrefix: read(LOADER_ENV.manifestPrefix),
    curatedPrefix: read(LOADER_ENV.curatedPrefix),
    ...(Number.isInteger(maxMessages) && maxMessages > 0 ? { maxMessages } : {}),
    ...(env[LOADER_ENV.analystIamRole] ? { analystIamRoleName: env[LOADER_ENV.analystIamRole] } : {}),
    ...(env[LOADER_ENV.lakeKeyArn] ? { lakeKeyArn: env[LOADER_ENV.lakeKeyArn] } : {}),
    timeBudgetMs: Math.max(0, remainingTimeMs - LOADER_RESERVE_SECONDS * 1000),
  };
}

/** Seconds between runs of a `rate(N unit)` expression; undefined for `cron(...)` or anything else. */
export function rateIntervalSeconds(expression: string): number | undefined {
  const match = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expression);
  if (!match) return undefined;
  const unit = match[2].replace(/s$/, "");
  return Number(match[1]) * (unit === "minute" ? 60 : unit === "hour" ? 3600 : 86_400);
}

export interface LoaderSettings {
  /** EventBridge schedule, e.g. `rate(5 minutes)` or `cron(0/15 * * * ? *)`. */
  readonly scheduleExpression: string;
  /** Lambda timeout; below the schedule interval, at most 900. @default 240 */
  readonly timeoutSeconds?: number;
  /** Messages (≈ objects) drained per run. @default 1000 */
  readonly maxMessages?: number;
  /** Failed runs a notification survives before it moves to the dead-letter queue. @default 5 */
  readonly maxReceiveCount?: number;
  /** Alarm when the oldest queued notification is older than this. */
  readonly oldestMessageAlarmSeconds: number;
  /**
   * Lambda reserved concurrency for the loader. Off by default: new AWS accounts often have a
   * concurrency limit of 10, and any reservation there fails `pulumi up` ("decreases account's
   * UnreservedConcurrentExecution below its minimum value of [10]"). Overlapping runs are safe without
   * it (see the function below); 1 only saves repeated work where the account has room.
   * @default none
   */
  readonly reservedConcurrency?: number;
}

/** Pure: every problem with the loader settings, each naming the field, the value and the fix. */
export function validateLoaderSettings(settings: LoaderSettings): string[] {
  const problems: string[] = [];
  const schedule = settings.scheduleExpression;
  const interval = rateIntervalSeconds(schedule);
  const singular = /^rate\(1 (minutes|hours|days)\)$/.exec(schedule);
  if (singular) {
    problems.push(
      `warehouse.loadScheduleExpression ${JSON.stringify(schedule)} uses a plural unit with 1, which EventBridge rejects; write "rate(1 ${singular[1].replace(/s$/, "")})".`,
    );
  } else if (/^rate\(([2-9]|\d{2,}) (minute|hour|day)\)$/.test(schedule)) {
    problems.push(
      `warehouse.loadScheduleExpression ${JSON.stringify(schedule)} uses a singular unit with a value above 1, which EventBridge rejects; use the plural (e.g. "rate(5 minutes)").`,
    );
  } else if (interval === undefined && !/^cron\(.+\)$/.test(schedule)) {
    problems.push(
      `warehouse.loadScheduleExpression ${JSON.stringify(schedule)} is not an EventBridge schedule; use "rate(5 minutes)" or a "cron(...)" expression.`,
    );
  }
  const timeout = settings.timeoutSeconds ?? 240;
  if (!Number.isInteger(timeout) || timeout < LOADER_RESERVE_SECONDS * 2 || timeout > 900) {
    problems.push(
      `loader timeoutSeconds ${timeout} is out of range; use ${LOADER_RESERVE_SECONDS * 2}–900 (the last ${LOADER_RESERVE_SECONDS} s are kept for acknowledging messages).`,
    );
  } else if (interval !== undefined && timeout >= interval) {
    problems.push(
      `loader timeoutSeconds ${timeout} is not below the schedule interval of ${interval} s (${schedule}); lower the timeout or load less often, so one run ends before the next starts.`,
    );
  }
  const maxMessages = settings.maxMessages ?? 1000;
  if (!Number.isInteger(maxMessages) || maxMessages < 1 || maxMessages > 10_000) {
    problems.push(`loader maxMessages ${maxMessages} is out of range; use 1–10000.`);
  }
  const reserved = settings.reservedConcurrency;
  if (reserved !== undefined && (!Number.isInteger(reserved) || reserved < 1)) {
    problems.push(
      `loader reservedConcurrency ${reserved} is not a whole number ≥ 1; leave it unset for no reservation.`,
    );
  }
  const maxReceiveCount = settings.maxReceiveCount ?? 5;
  if (!Number.isInteger(maxReceiveCount) || maxReceiveCount < 1 || maxReceiveCount > 1000) {
    problems.push(`loader maxReceiveCount ${maxReceiveCount} is out of range; use 1–1000.`);
  }
  if (!Number.isInteger(settings.oldestMessageAlarmSeconds) || settings.oldestMessageAlarmSeconds < 60) {
    problems.push(
      `loader oldestMessageAlarmSeconds ${settings.oldestMessageAlarmSeconds} is too small; use whole seconds of at least 60 (a few schedule intervals).`,
    );
  }
  return problems;
}

export interface LoaderArgs extends LoaderSettings {
  readonly namePrefix: string;
  /** The datasets the warehouse loads (their columns and keys travel in the function's code). */
  readonly datasets: readonly WarehouseDataset[];
  readonly account: pulumi.Input<AccountContext>;
  readonly warehouse: {
    readonly kind: WarehouseKind;
    /** Workgroup name or cluster identifier. */
    readonly name: pulumi.Input<string>;
    /** Workgroup or cluster ARN. */
    readonly arn: pulumi.Input<string>;
    readonly databaseName: pulumi.Input<string>;
    readonly adminSecretArn: pulumi.Input<string>;
    /** The key the admin secret is encrypted with. */
    readonly keyArn: pulumi.Input<string>;
    readonly copyRoleArn: pulumi.Input<string>;
  };
  /** The analysts' IAM role name: the DDL maps its database user to the `analyst` role. @default none */
  readonly analystIamRoleName?: pulumi.Input<string>;
  readonly lake: {
    readonly bucketName: pulumi.Input<string>;
    readonly bucketArn: pulumi.Input<string>;
    readonly keyArn: pulumi.Input<string>;
  };
  readonly logRetentionDays: number;
  /** Key the log group is encrypted with (the lake key allows this stack's Lambda log groups). */
  readonly logKeyArn: pulumi.Input<string>;
  readonly alarmTopicArn: pulumi.Input<string>;
  readonly tags: Readonly<Record<string, string>>;
}

/** The event EventBridge delivers on a schedule. */
export type ScheduledEvent = aws.cloudwatch.EventRuleEvent;

/**
 * Loads the lake into the warehouse. S3 sends an ObjectCreated notification for every
 * `curated/….parquet` object to an SQS queue; on a schedule, the loader Lambda drains it and loads
 * each dataset with one manifest + COPY (src/loader). Why a queue rather than listing S3: it names
 * exactly the new objects, keeps them through a warehouse outage (14 days), retries, and parks what
 * keeps failing in a dead-letter queue, which alarms.
 *
 * The queue uses SQS-managed encryption (SSE-SQS), not the lake key: S3 can deliver notifications
 * to an SSE-KMS queue only if the key policy lets s3.amazonaws.com use the key, and the lake key
 * deliberately grants no service principal (see lakeKeyPolicy); the messages hold object names,
 * sizes and ETags, never lake data.
 *
 * A bucket has ONE notification configuration, owned by LakeNotifications: the loader exposes its
 * queue rule as `notificationRule` for it.
 */
export class Loader extends pulumi.ComponentResource {
  readonly queue: aws.sqs.Queue;
  readonly deadLetterQueue: aws.sqs.Queue;
  /** ObjectCreated for curated/….parquet → the load queue; LakeNotifications puts it on the bucket. */
  readonly notificationRule: QueueNotificationRule;
  readonly role: aws.iam.Role;
  readonly logGroup: aws.cloudwatch.LogGroup;
  readonly function: aws.lambda.CallbackFunction<ScheduledEvent, DrainReport>;
  readonly schedule: aws.cloudwatch.EventRule;
  readonly alarms: readonly aws.cloudwatch.MetricAlarm[];
  readonly functionName: pulumi.Output<string>;
  readonly queueUrl: pulumi.Output<string>;
  readonly deadLetterQueueUrl: pulumi.Output<string>;

  constructor(name: string, args: LoaderArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tributary:loader:Loader", name, {}, opts);
    const problems = validateLoaderSettings(args);
    if (problems.length > 0) {
      throw new TributaryError("TRIBUTARY_INVALID_LOADER", `Invalid loader settings:\n  - ${problems.join("\n  - ")}`);
    }
    const timeoutSeconds = args.timeoutSeconds ?? 240;
    const maxMessages = args.maxMessages ?? 1000;
    const maxReceiveCount = args.maxReceiveCount ?? 5;
    const account = pulumi.output(args.account);
    const tags = { ...args.tags };
    const functionName = `${args.namePrefix}-loader`;

    this.deadLetterQueue = new aws.sqs.Queue(
      `${name}-dlq`,
      {
        name: `${args.namePrefix}-load-dlq`,
        sqsManagedSseEnabled: true,
        messageRetentionSeconds: DEAD_LETTER_RETENTION_SECONDS,
        tags,
      },
      { parent: this },
    );
    this.queue = new aws.sqs.Queue(
      `${name}-queue`,
      {
        name: `${args.namePrefix}-load`,
        sqsManagedSseEnabled: true,
        messageRetentionSeconds: QUEUE_RETENTION_SECONDS,
        visibilityTimeoutSeconds: timeoutSeconds + VISIBILITY_MARGIN_SECONDS,
        redrivePolicy: this.deadLetterQueue.arn.apply((deadLetterTargetArn) =>
          JSON.stringify({ deadLetterTargetArn, maxReceiveCount }),
        ),
        tags,
      },
      { parent: this },
    );
    const queuePolicy = new aws.sqs.QueuePolicy(
      `${name}-queue-policy`,
      {
        queueUrl: this.queue.url,
        policy: pulumi
          .all([this.queue.arn, args.lake.bucketArn, account])
          .apply(([queueArn, bucketArn, a]) => JSON.stringify(loadQueuePolicy({ queueArn, bucketArn, account: a }))),
      },
      { parent: this },
    );
    // The bucket's one notification configuration is LakeNotifications' (see infra/lake-notifications.ts):
    // the loader hands over its rule, with the queue policy S3 checks when the configuration is written.
    this.notificationRule = {
      id: "load-curated-parquet",
      queueArn: this.queue.arn,
      events: ["s3:ObjectCreated:*"],
      filterPrefix: CURATED_PREFIX,
      filterSuffix: ".parquet",
      dependsOn: [queuePolicy],
    };

    // Created before the function so Lambda never creates an unencrypted, never-expiring one.
    this.logGroup = new aws.cloudwatch.LogGroup(
      `${name}-logs`,
      {
        name: `/aws/lambda/${functionName}`,
        retentionInDays: args.logRetentionDays,
        kmsKeyId: args.logKeyArn,
        tags,
      },
      { parent: this },
    );
    this.role = new aws.iam.Role(
      `${name}-role`,
      {
        name: functionName,
        description:
          "Runs the warehouse loader: drains the load queue, writes manifests, runs COPY through the Data API",
        assumeRolePolicy: JSON.stringify(serviceTrustPolicy("lambda.amazonaws.com")),
        tags,
      },
      { parent: this },
    );
    const warehouseKind = args.warehouse.kind;
    const rolePolicy = new aws.iam.RolePolicy(
      `${name}-role-policy`,
      {
        role: this.role.id,
        policy: pulumi
          .all([
            account,
            this.queue.arn,
            args.warehouse.arn,
            args.warehouse.adminSecretArn,
            args.warehouse.keyArn,
            args.lake.bucketArn,
            args.lake.keyArn,
            this.logGroup.arn,
          ])
          .apply(([a, queueArn, warehouseArn, adminSecretArn, secretKeyArn, bucketArn, lakeKeyArn, logGroupArn]) =>
            JSON.stringify(
              loaderPolicy({
                region: a.region,
                accountId: a.accountId,
                queueArn,
                warehouse:
                  warehouseKind === "serverless"
                    ? { kind: "serverless", workgroupArn: warehouseArn }
                    : { kind: "provisioned", clusterArn: warehouseArn },
                adminSecretArn,
                secretKeyArn,
                bucketArn,
                manifestPrefix: MANIFEST_PREFIX,
                curatedPrefix: CURATED_PREFIX,
                lakeKeyArn,
                logGroupArn,
              }),
            ),
          ),
      },
      { parent: this },
    );

    const datasets = warehouseDatasets(args.datasets);
    this.function = new aws.lambda.CallbackFunction<ScheduledEvent, DrainReport>(
      `${name}-function`,
      {
        name: functionName,
        description: "Loads new curated Parquet objects into Redshift: one manifest + COPY per dataset per run",
        // Passing a role keeps CallbackFunction from attaching its broad default managed policies.
        role: this.role,
        runtime: LOADER_RUNTIME,
        timeout: timeoutSeconds,
        memorySize: LOADER_MEMORY_MB,
        // Overlapping runs (an EventBridge duplicate, a slow run) are safe without a reservation: each
        // dataset's batch is one transaction whose DELETE on the staging table makes the other wait;
        // Redshift then aborts the later one as a serialization conflict (its messages come back) or it
        // replaces history rows by dedupe key, so a second load repeats work but adds no record.
        ...(args.reservedConcurrency !== undefined ? { reservedConcurrentExecutions: args.reservedConcurrency } : {}),
        loggingConfig: { logFormat: "Text", logGroup: this.logGroup.name },
        codePathOptions: { extraExcludePackages: [...LOADER_EXCLUDED_PACKAGES] },
        environment: {
          variables: {
            [LOADER_ENV.queueUrl]: this.queue.url,
            [LOADER_ENV.warehouseKind]: warehouseKind,
            [LOADER_ENV.warehouseName]: args.warehouse.name,
            [LOADER_ENV.database]: args.warehouse.databaseName,
            [LOADER_ENV.adminSecretArn]: args.warehouse.adminSecretArn,
            [LOADER_ENV.copyRoleArn]: args.warehouse.copyRoleArn,
            [LOADER_ENV.manifestBucket]: args.lake.bucketName,
            [LOADER_ENV.manifestPrefix]: MANIFEST_PREFIX,
            [LOADER_ENV.curatedPrefix]: CURATED_PREFIX,
            [LOADER_ENV.maxMessages]: String(maxMessages),
            [LOADER_ENV.lakeKeyArn]: args.lake.keyArn,
            ...(args.analystIamRoleName !== undefined ? { [LOADER_ENV.analystIamRole]: args.analystIamRoleName } : {}),
          },
        },
        // Plain data only: the closure serializer copies it into the function's code.
        callbackFactory: () => {
          // Clients are created here, once per Lambda container: an SDK client captured from module
          // scope cannot be serialized. The queue URL does not override the client's endpoint, so
          // a configured endpoint (AWS_ENDPOINT_URL_SQS) is honoured.
          const sqs = new SQSClient({ useQueueUrlAsEndpoint: false });
          const s3 = new S3Client({});
          const redshiftData = new RedshiftDataClient({});
          return async (_event: ScheduledEvent, context: aws.lambda.Context): Promise<DrainReport> => {
            const config = loaderConfigFromEnvironment(process.env, context.getRemainingTimeInMillis(), datasets);
            const report = await drainAndLoad(
              { sqs, s3Put: s3, redshiftData, parquetColumns: (object) => s3ObjectColumns(s3, object) },
              config,
            );
            console.log(JSON.stringify({ message: "load run finished", ...report }));
            // EMF: CloudWatch turns these log lines into the loader's metrics (no API call).
            for (const document of loaderRunDocuments(context.functionName, report, Date.now())) {
              writeEmfLine(document);
            }
            return report;
          };
        },
        tags,
      },
      { parent: this, dependsOn: [this.logGroup, rolePolicy] },
    );
    // The schedule is the retry: an immediate async retry of a failed run would only find the same
    // messages still invisible, and could queue behind the one-at-a-time concurrency limit.
    new aws.lambda.FunctionEventInvokeConfig(
      `${name}-invoke-config`,
      { functionName: this.function.name, maximumRetryAttempts: 0 },
      { parent: this },
    );

    this.schedule = new aws.cloudwatch.EventRule(
      `${name}-schedule`,
      {
        name: `${args.namePrefix}-load`,
        description: `Runs the warehouse loader (${args.scheduleExpression})`,
        scheduleExpression: args.scheduleExpression,
        tags,
      },
      { parent: this },
    );
    const permission = new aws.lambda.Permission(
      `${name}-schedule-permission`,
      {
        action: "lambda:InvokeFunction",
        function: this.function.name,
        principal: "events.amazonaws.com",
        sourceArn: this.schedule.arn,
      },
      { parent: this },
    );
    new aws.cloudwatch.EventTarget(
      `${name}-schedule-target`,
      { rule: this.schedule.name, arn: this.function.arn },
      { parent: this, dependsOn: [permission] },
    );

    const alarm = (
      role: string,
      metric: {
        namespace: string;
        metricName: string;
        dimensions: Record<string, pulumi.Input<string>>;
        statistic: "Maximum" | "Sum";
        threshold: number;
        description: string;
      },
    ) =>
      new aws.cloudwatch.MetricAlarm(
        `${name}-${role}`,
        {
          name: `${args.namePrefix}-loader-${role}`,
          alarmDescription: metric.description,
          namespace: metric.namespace,
          metricName: metric.metricName,
          dimensions: metric.dimensions,
          statistic: metric.statistic,
          period: LOADER_ALARM_PERIOD_SECONDS,
          evaluationPeriods: 1,
          threshold: metric.threshold,
          comparisonOperator: "GreaterThanThreshold",
          // An idle queue or an idle function publishes nothing; that is health, not failure.
          treatMissingData: "notBreaching",
          alarmActions: [args.alarmTopicArn],
          okActions: [args.alarmTopicArn],
          tags,
        },
        { parent: this },
      );
    this.alarms = [
      alarm("dead-letters", {
        namespace: "AWS/SQS",
        metricName: "ApproximateNumberOfMessagesVisible",
        dimensions: { QueueName: this.deadLetterQueue.name },
        statistic: "Maximum",
        threshold: 0,
        description: `notifications failed ${maxReceiveCount} load runs and are parked in the dead-letter queue; read the loader's log, fix, then redrive them`,
      }),
      alarm("errors", {
        namespace: "AWS/Lambda",
        metricName: "Errors",
        dimensions: { FunctionName: this.function.name },
        statistic: "Sum",
        threshold: 0,
        description:
          "a load run failed (Redshift's error is in the loader's log); its notifications stay queued and are retried next run",
      }),
      alarm("load-failures", {
        namespace: LOADER_RUN_METRICS.loadFailures.namespace,
        metricName: LOADER_RUN_METRICS.loadFailures.name,
        dimensions: { FunctionName: this.function.name },
        statistic: "Sum",
        threshold: 0,
        description:
          "a dataset's load failed (COPY or model SQL; the run itself went on): its notifications stay queued and are retried next run; the error is in the loader's log (`load run finished` → failed)",
      }),
      alarm("queue-age", {
        namespace: "AWS/SQS",
        metricName: "ApproximateAgeOfOldestMessage",
        dimensions: { QueueName: this.queue.name },
        statistic: "Maximum",
        threshold: args.oldestMessageAlarmSeconds,
        description: `a notification has waited more than ${args.oldestMessageAlarmSeconds} s: loads are failing or not running`,
      }),
    ];

    this.functionName = this.function.name;
    this.queueUrl = this.queue.url;
    this.deadLetterQueueUrl = this.deadLetterQueue.url;
    this.registerOutputs({
      functionName: this.functionName,
      queueUrl: this.queueUrl,
      deadLetterQueueUrl: this.deadLetterQueueUrl,
    });
  }
}
