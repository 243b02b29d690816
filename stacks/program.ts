import * as pulumi from "@pulumi/pulumi";
import type { Dataset } from "../src/datasets";
import { Platform } from "../infra/platform";
import type { StackConfig } from "./config";

/** What a stack exports (`pulumi stack output`): the names users and `tributary` commands need. */
export interface StackOutputs {
  readonly bucket: pulumi.Output<string>;
  readonly streams: pulumi.Output<Record<string, string>>;
  readonly glueDatabase: pulumi.Output<string>;
  readonly athenaWorkgroup: pulumi.Output<string>;
  readonly agentConfigParameter: pulumi.Output<string>;
  readonly agentConfig: pulumi.Output<string>;
  readonly agentInstanceProfile: pulumi.Output<string>;
  readonly shipperInstall: pulumi.Output<string>;
  readonly alarmTopicArn: pulumi.Output<string>;
  /** What `tributary query --stack` and SQL clients need: the Data API target, endpoint and secret (none without a warehouse). */
  readonly warehouse?: pulumi.Output<Record<string, string | number>>;
  readonly loaderFunction?: pulumi.Output<string>;
  readonly loadQueueUrl?: pulumi.Output<string>;
  readonly loadDeadLetterQueueUrl?: pulumi.Output<string>;
  /** The analysts' role and the managed policy a team attaches to its SSO permission set. */
  readonly analystRoleArn: pulumi.Output<string>;
  readonly analystPolicyArn: pulumi.Output<string>;
}

/** Builds one environment from its validated config; shared by `pulumi up` and `tributary plan`. */
export function createStack(config: StackConfig, catalog: readonly Dataset[]): StackOutputs {
  const p = config.profile;
  const { rawTransitionToIaDays, ...storage } = p.storage;
  const platform = new Platform("tributary", {
    namePrefix: config.namePrefix,
    region: config.region,
    datasets: catalog.filter((d) => config.datasets.includes(d.name)),
    delivery: p.delivery,
    storage: {
      ...storage,
      // 0 in a profile means "keep raw/ in STANDARD"; the component takes no value for that.
      ...(rawTransitionToIaDays > 0 ? { rawTransitionToIaDays } : {}),
    },
    logRetentionDays: p.logRetentionDays,
    kms: p.kms,
    alarms: {
      freshnessThresholdSeconds: p.alarms.freshnessThresholdSeconds,
      ...(config.alarmEmail ? { email: config.alarmEmail } : {}),
    },
    agent: {
      trustedAccountIds: config.agentTrustedAccountIds,
      ...(config.agentAssumeRoleExternalId !== undefined
        ? { assumeRoleExternalId: config.agentAssumeRoleExternalId }
        : {}),
    },
    athena: {
      forceDestroy: p.athena.forceDestroy,
      ...(p.athena.bytesScannedCutoffPerQuery > 0
        ? { bytesScannedCutoffPerQuery: p.athena.bytesScannedCutoffPerQuery }
        : {}),
    },
    ...(config.warehouse !== "none" ? { warehouse: p.warehouse } : {}),
    tags: { project: "tributary", stack: config.stack, profile: config.profileName },
  });
  const w = platform.warehouse;
  return {
    bucket: platform.bucketName,
    streams: platform.streams,
    glueDatabase: platform.glueDatabase,
    athenaWorkgroup: platform.athenaWorkgroup,
    agentConfigParameter: platform.agentConfigParameter,
    agentConfig: platform.agentConfig,
    agentInstanceProfile: platform.agentInstanceProfile,
    shipperInstall: platform.shipperInstallLocation,
    alarmTopicArn: platform.alarmTopicArn,
    analystRoleArn: platform.analysts.roleArn,
    analystPolicyArn: platform.analysts.policyArn,
    ...(w && platform.loader
      ? {
          warehouse: pulumi
            .all([w.target.name, w.databaseName, w.adminSecretArn, w.endpointAddress, w.port])
            .apply(([target, database, secretArn, endpoint, port]) => ({
              kind: w.kind,
              [w.kind === "serverless" ? "workgroupName" : "clusterIdentifier"]: target,
              database,
              secretArn,
              endpoint,
              port,
            })),
          loaderFunction: platform.loader.functionName,
          loadQueueUrl: platform.loader.queueUrl,
          loadDeadLetterQueueUrl: platform.loader.deadLetterQueueUrl,
        }
      : {}),
  };
}
