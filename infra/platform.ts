import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { Dataset } from "../src/datasets/types";
import { TributaryError } from "../src/errors";
import {
  assertValidDeliverySpecs,
  deliverySpecFor,
  deliverySpecProblems,
  type DeliverySettings,
  type DeliverySpec,
} from "../src/spec";
import { exportTargetsOf, type ExportTarget } from "../src/warehouse/exports";
import { modelsFor } from "../src/warehouse/models";
import { questionsOf, type ModelQuestion } from "../src/warehouse/questions";
import { lineSpecOf } from "../src/shipper/line-spec";
import { ensureShipperBundle } from "../src/standalone/build";
import { AgentTarget } from "./agent-target";
import { AnalystAccess } from "./analyst-access";
import { Alarms, errorOutputFilterId } from "./alarms";
import { Dashboard } from "./dashboard";
import { Catalog } from "./catalog";
import { DeliveryStream } from "./delivery-stream";
import type { AccountContext } from "./iam/policy";
import { LakeStorage, type LakeStorageArgs } from "./lake-storage";
import { LakeNotifications } from "./lake-notifications";
import { Loader } from "./loader";
import { Network } from "./network";
import { Warehouse, type WarehouseSettings } from "./warehouse";
import { ATHENA_RESULTS_PREFIX, firehoseRoleName, logGroupPrefixes, transformFunctionName } from "./names";
import { platformArgsProblems } from "./platform-validation";
import { ShipperInstall } from "./shipper-install";
import { TransformFunction } from "./transform-function";
import { Replay } from "./replay";

/** Everything one stack's platform depends on; stacks/ builds it from a profile and config. */
export interface PlatformArgs {
  /** Physical name prefix, e.g. `tributary-dev`. */
  readonly namePrefix: string;
  /** The AWS region the provider deploys to; agent.json points its endpoints here. */
  readonly region: string;
  readonly datasets: readonly Dataset[];
  readonly delivery: DeliverySettings;
  /** The lake and access-log buckets: destroyability, retention, lifecycle (see LakeStorageArgs). */
  readonly storage: Pick<
    LakeStorageArgs,
    | "forceDestroy"
    | "errorObjectExpirationDays"
    | "noncurrentVersionExpirationDays"
    | "accessLogExpirationDays"
    | "athenaResultExpirationDays"
    | "rawTransitionToIaDays"
    | "sourceBackupExpirationDays"
  >;
  /** Retention of every log group (Firehose delivery errors, transform functions). */
  readonly logRetentionDays: number;
  readonly kms: { readonly deletionWindowDays: number };
  readonly alarms: {
    /** Subscribed to the alarm topic. @default none */
    readonly email?: string;
    readonly freshnessThresholdSeconds: number;
  };
  readonly agent: {
    /** Accounts whose hosts outside EC2 may assume the agent role. @default none */
    readonly trustedAccountIds?: readonly string[];
    readonly assumeRoleExternalId?: string;
  };
  readonly athena: {
    /** @default no limit */
    readonly bytesScannedCutoffPerQuery?: number;
    readonly forceDestroy: boolean;
  };
  /** Redshift and its loader; omit for a lake without a warehouse (no VPC, Redshift, loader or queues). */
  readonly warehouse?: WarehouseSettings & {
    /** EventBridge schedule of the loader, e.g. `rate(5 minutes)`. */
    readonly loadScheduleExpression: string;
    /** Loader Lambda timeout; below the schedule interval. */
    readonly loaderTimeoutSeconds: number;
    /** Alarm when a new file has waited this long to be loaded. */
    readonly loadQueueAlarmSeconds: number;
    /** Loader reserved concurrency; 0 for none (new accounts cannot reserve any, see LoaderSettings). */
    readonly loaderReservedConcurrency: number;
  };
  /**
   * The standalone shipper the stack publishes for the log servers (dist/tributary-ship.js).
   * @default the bundle built from this checkout's sources, built first when missing or stale
   */
  readonly shipperBundlePath?: string;
  readonly tags: Readonly<Record<string, string>>;
}

/**
 * Validates the arguments and every dataset's delivery spec, throwing once with every problem.
 * Returns the specs in dataset order.
 */
export function validatedDeliverySpecs(args: PlatformArgs): Array<{ dataset: Dataset; spec: DeliverySpec }> {
  const pairs = args.datasets.map((dataset) => ({
    dataset,
    spec: deliverySpecFor(dataset, args.delivery, { prefix: args.namePrefix }),
  }));
  const problems = platformArgsProblems(
    args,
    pairs.map((p) => p.spec),
  );
  if (problems.length > 0) {
    // Report the specs' problems too, so one run shows everything there is to fix.
    const all = [...problems, ...pairs.flatMap(({ dataset, spec }) => deliverySpecProblems(dataset, spec))];
    throw new TributaryError(
      "TRIBUTARY_INVALID_PLATFORM_ARGS",
      `${all.length} problem${all.length === 1 ? "" : "s"} in the platform arguments:\n  - ${all.join("\n  - ")}`,
    );
  }
  assertValidDeliverySpecs(pairs);
  return pairs;
}

/** The exported model tables and the questions of the models the stack's datasets make. */
export function analyticsOf(datasets: readonly Dataset[]): { tables: ExportTarget[]; questions: ModelQuestion[] } {
  const models = modelsFor(datasets);
  return { tables: exportTargetsOf(models), questions: questionsOf(models) };
}

/**
 * One stack's server-log lake: storage and key, Glue/Athena catalog, one Firehose stream per dataset
 * (with its transform function where the dataset has one), the Kinesis Agent's role and agent.json,
 * and delivery alarms. The parts are public so later components (warehouse, loader) can use them.
 */
export class Platform extends pulumi.ComponentResource {
  readonly specs: ReadonlyArray<{ readonly dataset: Dataset; readonly spec: DeliverySpec }>;
  readonly account: pulumi.Output<AccountContext>;
  readonly storage: LakeStorage;
  readonly catalog: Catalog;
  /** dataset name → transform function, for datasets with a transform */
  readonly transforms: Readonly<Record<string, TransformFunction>>;
  /** dataset name → delivery stream */
  readonly deliveryStreams: Readonly<Record<string, DeliveryStream>>;
  readonly agentTarget: AgentTarget;
  readonly shipperInstall: ShipperInstall;
  readonly alarms: Alarms;
  /** The warehouse and what it needs; undefined when the stack has no warehouse. */
  readonly network?: Network;
  readonly warehouse?: Warehouse;
  readonly loader?: Loader;
  /** Backfill: replays files uploaded under raw/<dataset>/files/ into the datasets' streams. */
  readonly replay: Replay;
  /** The lake bucket's one notification configuration (the loader's queue rule, the replay's rules). */
  readonly notifications: LakeNotifications;
  readonly dashboard: Dashboard;
  readonly analysts: AnalystAccess;

  readonly bucketName: pulumi.Output<string>;
  readonly bucketArn: pulumi.Output<string>;
  readonly lakeKeyArn: pulumi.Output<string>;
  /** dataset name → stream name */
  readonly streams: pulumi.Output<Record<string, string>>;
  readonly glueDatabase: pulumi.Output<string>;
  readonly athenaWorkgroup: pulumi.Output<string>;
  /** SSM parameter holding agent.json. */
  readonly agentConfigParameter: pulumi.Output<string>;
  /** The rendered agent.json. */
  readonly agentConfig: pulumi.Output<string>;
  readonly agentInstanceProfile: pulumi.Output<string>;
  /** `s3://…/install/shipper/`: the standalone shipper, its specs and units. */
  readonly shipperInstallLocation: pulumi.Output<string>;
  readonly alarmTopicArn: pulumi.Output<string>;

  constructor(name: string, args: PlatformArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tributary:index:Platform", name, {}, opts);
    this.specs = validatedDeliverySpecs(args);
    const prefix = args.namePrefix;
    const tags = { ...args.tags };

    const identity = aws.getCallerIdentityOutput({}, { parent: this });
    const partition = aws.getPartitionOutput({}, { parent: this });
    this.account = pulumi.all([identity, partition]).apply(([id, p]) => ({
      partition: p.partition,
      accountId: id.accountId,
      region: args.region,
    }));
    aws.getRegionOutput({}, { parent: this }).apply((provider) => {
      if (provider.region !== args.region) {
        pulumi.log.warn(
          `region is "${args.region}" but the AWS provider deploys to "${provider.region}"; agent.json would point agents at the wrong endpoints. Set both to the same region.`,
          this,
        );
      }
    });

    this.storage = new LakeStorage(
      `${name}-storage`,
      {
        namePrefix: prefix,
        account: this.account,
        ...args.storage,
        sourceBackupDatasets: args.datasets.map((d) => d.name),
        keyDeletionWindowDays: args.kms.deletionWindowDays,
        encryptedLogGroupPrefixes: logGroupPrefixes(prefix),
        tags,
      },
      { parent: this },
    );
    const keyArn = this.storage.keyArn;

    this.catalog = new Catalog(
      `${name}-catalog`,
      {
        namePrefix: prefix,
        account: this.account,
        tables: this.specs,
        bucketName: this.storage.bucketName,
        keyArn,
        // The loader writes the model tables to the lake; without a warehouse there are none.
        ...(args.warehouse ? { analytics: analyticsOf(args.datasets) } : {}),
        ...(args.athena.bytesScannedCutoffPerQuery !== undefined
          ? { bytesScannedCutoffPerQuery: args.athena.bytesScannedCutoffPerQuery }
          : {}),
        forceDestroy: args.athena.forceDestroy,
        tags,
      },
      { parent: this },
    );

    const transforms: Record<string, TransformFunction> = {};
    const deliveryStreams: Record<string, DeliveryStream> = {};
    for (const { dataset, spec } of this.specs) {
      const transform =
        spec.transform !== undefined
          ? new TransformFunction(
              `${name}-${dataset.name}-transform`,
              {
                functionName: transformFunctionName(prefix, dataset),
                transform: spec.transform,
                logRetentionDays: args.logRetentionDays,
                logKeyArn: keyArn,
                tags,
              },
              { parent: this },
            )
          : undefined;
      if (transform) transforms[dataset.name] = transform;
      const table = this.catalog.tables[dataset.name];
      deliveryStreams[dataset.name] = new DeliveryStream(
        `${name}-${dataset.name}`,
        {
          spec,
          account: this.account,
          bucketArn: this.storage.bucketArn,
          keyArn,
          glue: {
            databaseName: this.catalog.databaseName,
            tableName: table.name,
            catalogArn: this.catalog.catalogArn,
            databaseArn: this.catalog.database.arn,
            tableArn: table.arn,
          },
          ...(transform ? { transform: { arn: transform.arn, qualifiedArn: transform.qualifiedArn } } : {}),
          roleName: firehoseRoleName(prefix, dataset),
          logRetentionDays: args.logRetentionDays,
          tags,
        },
        { parent: this },
      );
    }
    this.transforms = transforms;
    this.deliveryStreams = deliveryStreams;
    const streamList = Object.values(deliveryStreams);

    // Our shipper for the servers that run it instead of the agent: a spec and unit per dataset the
    // agent serves, next to agent.json (see ShipperInstall for why S3).
    const served = this.specs.filter(({ spec }) => spec.agentFlows.length > 0);
    this.shipperInstall = new ShipperInstall(
      `${name}-shipper`,
      {
        bucketName: this.storage.bucketName,
        bucketArn: this.storage.bucketArn,
        region: args.region,
        bundlePath: args.shipperBundlePath ?? ensureShipperBundle(),
        datasets: served.map(({ dataset }) => ({
          lineSpec: lineSpecOf(dataset),
          filePattern: dataset.source.filePattern,
          streamName: deliveryStreams[dataset.name].streamName,
        })),
        tags,
      },
      { parent: this },
    );

    this.agentTarget = new AgentTarget(
      `${name}-agent`,
      {
        namePrefix: prefix,
        region: args.region,
        account: this.account,
        flows: this.specs.flatMap(({ spec }) => spec.agentFlows),
        streamArns: streamList.map((s) => s.streamArn),
        installObjectArns: this.shipperInstall.objectArns,
        ...(args.agent.trustedAccountIds !== undefined ? { trustedAccountIds: args.agent.trustedAccountIds } : {}),
        ...(args.agent.assumeRoleExternalId !== undefined
          ? { assumeRoleExternalId: args.agent.assumeRoleExternalId }
          : {}),
        tags,
      },
      { parent: this },
    );

    this.alarms = new Alarms(
      `${name}-alarms`,
      {
        namePrefix: prefix,
        account: this.account,
        streams: Object.fromEntries(Object.entries(deliveryStreams).map(([ds, s]) => [ds, s.streamName])),
        transformFunctions: Object.fromEntries(Object.entries(this.transforms).map(([ds, t]) => [ds, t.function.name])),
        errorOutput: {
          bucketName: this.storage.bucketName,
          prefixes: Object.fromEntries(this.specs.map(({ dataset, spec }) => [dataset.name, spec.errorOutputPrefix])),
        },
        freshnessThresholdSeconds: args.alarms.freshnessThresholdSeconds,
        ...(args.alarms.email !== undefined ? { email: args.alarms.email } : {}),
        keyDeletionWindowDays: args.kms.deletionWindowDays,
        tags,
      },
      { parent: this },
    );

    if (args.warehouse) {
      const built = this.createWarehouse(name, args, args.warehouse, keyArn, tags);
      this.network = built.network;
      this.warehouse = built.warehouse;
      this.analysts = built.analysts;
      this.loader = built.loader;
    } else {
      // Without a warehouse analysts still read the lake with Athena.
      this.analysts = this.createAnalysts(name, args, keyArn, tags, undefined);
    }

    this.replay = new Replay(
      `${name}-replay`,
      {
        namePrefix: prefix,
        account: this.account,
        datasets: args.datasets,
        streams: Object.fromEntries(
          Object.entries(deliveryStreams).map(([ds, s]) => [ds, { name: s.streamName, arn: s.streamArn }]),
        ),
        lake: { bucketName: this.storage.bucketName, bucketArn: this.storage.bucketArn, keyArn },
        logRetentionDays: args.logRetentionDays,
        logKeyArn: keyArn,
        alarmTopicArn: this.alarms.topicArn,
        tags,
      },
      { parent: this },
    );
    const loader = this.loader;
    this.notifications = new LakeNotifications(
      `${name}-lake-notifications`,
      {
        bucketName: this.storage.bucketName,
        queues: loader ? [loader.notificationRule] : [],
        lambdas: this.replay.notificationRules,
        // The loader owned the notification before: the same resource, updated in place.
        ...(loader ? { aliases: [{ name: `${name}-loader-bucket-notification`, parent: loader }] } : {}),
      },
      { parent: this },
    );

    this.dashboard = new Dashboard(
      `${name}-dashboard`,
      {
        namePrefix: prefix,
        region: args.region,
        bucketName: this.storage.bucketName,
        datasets: this.specs.map(({ dataset }) => ({
          dataset: dataset.name,
          streamName: deliveryStreams[dataset.name].streamName,
          ...(this.transforms[dataset.name]
            ? { transformFunctionName: this.transforms[dataset.name].function.name }
            : {}),
          errorOutputFilterId: errorOutputFilterId(dataset.name),
        })),
        ...(this.loader
          ? {
              loader: {
                functionName: this.loader.function.name,
                queueName: this.loader.queue.name,
                deadLetterQueueName: this.loader.deadLetterQueue.name,
              },
            }
          : {}),
      },
      { parent: this },
    );

    this.bucketName = this.storage.bucketName;
    this.bucketArn = this.storage.bucketArn;
    this.lakeKeyArn = keyArn;
    this.streams = pulumi.all(
      Object.fromEntries(Object.entries(deliveryStreams).map(([ds, s]) => [ds, s.streamName])),
    ) as pulumi.Output<Record<string, string>>;
    this.glueDatabase = this.catalog.databaseName;
    this.athenaWorkgroup = this.catalog.workgroup.name;
    this.agentConfigParameter = this.agentTarget.parameterName;
    this.agentConfig = this.agentTarget.agentConfig;
    this.agentInstanceProfile = this.agentTarget.instanceProfileName;
    this.shipperInstallLocation = this.shipperInstall.location;
    this.alarmTopicArn = this.alarms.topicArn;
    this.registerOutputs({
      bucketName: this.bucketName,
      bucketArn: this.bucketArn,
      lakeKeyArn: this.lakeKeyArn,
      streams: this.streams,
      glueDatabase: this.glueDatabase,
      athenaWorkgroup: this.athenaWorkgroup,
      agentConfigParameter: this.agentConfigParameter,
      agentInstanceProfile: this.agentInstanceProfile,
      shipperInstallLocation: this.shipperInstallLocation,
      alarmTopicArn: this.alarmTopicArn,
    });
  }

  /** The private network, Redshift and its loader. */
  private createWarehouse(
    name: string,
    args: PlatformArgs,
    settings: NonNullable<PlatformArgs["warehouse"]>,
    keyArn: pulumi.Output<string>,
    tags: Record<string, string>,
  ): { network: Network; warehouse: Warehouse; analysts: AnalystAccess; loader: Loader } {
    const prefix = args.namePrefix;
    const network = new Network(
      `${name}-network`,
      {
        namePrefix: prefix,
        account: this.account,
        s3BucketArns: [this.storage.bucketArn, this.storage.accessLogBucket.arn],
        tags,
      },
      { parent: this },
    );
    const {
      loadScheduleExpression,
      loaderTimeoutSeconds,
      loadQueueAlarmSeconds,
      loaderReservedConcurrency,
      ...warehouseSettings
    } = settings;
    const warehouse = new Warehouse(
      `${name}-warehouse`,
      {
        ...warehouseSettings,
        namePrefix: prefix,
        account: this.account,
        subnetIds: network.subnetIds,
        securityGroupIds: [network.securityGroupId],
        lake: { bucketArn: this.storage.bucketArn, keyArn },
        glueArns: pulumi.all([
          this.catalog.catalogArn,
          this.catalog.database.arn,
          ...Object.values(this.catalog.tables).map((t) => t.arn),
        ]),
        keyDeletionWindowDays: args.kms.deletionWindowDays,
        tags,
      },
      { parent: this },
    );
    const analysts = this.createAnalysts(name, args, keyArn, tags, warehouse);
    const loader = new Loader(
      `${name}-loader`,
      {
        scheduleExpression: loadScheduleExpression,
        timeoutSeconds: loaderTimeoutSeconds,
        oldestMessageAlarmSeconds: loadQueueAlarmSeconds,
        ...(loaderReservedConcurrency > 0 ? { reservedConcurrency: loaderReservedConcurrency } : {}),
        namePrefix: prefix,
        account: this.account,
        datasets: args.datasets,
        warehouse: {
          kind: warehouse.kind,
          name: warehouse.target.name,
          arn: warehouse.target.arn,
          databaseName: warehouse.databaseName,
          adminSecretArn: warehouse.adminSecretArn,
          keyArn: warehouse.keyArn,
          copyRoleArn: warehouse.copyRoleArn,
        },
        lake: { bucketName: this.storage.bucketName, bucketArn: this.storage.bucketArn, keyArn },
        analystIamRoleName: analysts.roleName,
        logRetentionDays: args.logRetentionDays,
        // The lake key's policy already lets CloudWatch Logs use it for this stack's log groups.
        logKeyArn: keyArn,
        alarmTopicArn: this.alarms.topicArn,
        tags,
      },
      { parent: this },
    );
    return { network, warehouse, analysts, loader };
  }

  /** The analyst role and policy: Athena and the lake, and the warehouse with their own identity. */
  private createAnalysts(
    name: string,
    args: PlatformArgs,
    keyArn: pulumi.Output<string>,
    tags: Record<string, string>,
    warehouse: Warehouse | undefined,
  ): AnalystAccess {
    return new AnalystAccess(
      `${name}-analysts`,
      {
        namePrefix: args.namePrefix,
        account: this.account,
        athenaWorkgroupArn: this.catalog.workgroup.arn,
        glue: {
          catalogArn: this.catalog.catalogArn,
          databaseArn: this.catalog.database.arn,
          databaseName: this.catalog.databaseName,
        },
        lake: { bucketArn: this.storage.bucketArn, keyArn },
        athenaResultsPrefix: ATHENA_RESULTS_PREFIX,
        ...(warehouse
          ? {
              warehouse: {
                kind: warehouse.kind,
                arn: warehouse.target.arn,
                name: warehouse.target.name,
                databaseName: warehouse.databaseName,
                adminSecretArn: warehouse.adminSecretArn,
              },
            }
          : {}),
        tags,
      },
      { parent: this },
    );
  }
}
