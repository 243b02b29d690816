import * as pulumi from "@pulumi/pulumi";
import { MOCK_ACCOUNT_ID, type RecordedResource } from "../../../stacks/mocks";
import type { LoaderSettings } from "../../../infra/loader";
import type { WarehouseSettings } from "../../../infra/warehouse";
import { WarehouseMocks } from "./mocks";
import { allDatasets } from "../../../src/datasets";

export const REGION = "eu-west-1";
export const ACCOUNT = { partition: "aws", accountId: MOCK_ACCOUNT_ID, region: REGION } as const;
export const NAME_PREFIX = "tributary-dev";
export const LAKE = {
  bucketName: `tributary-dev-lake-${MOCK_ACCOUNT_ID}-${REGION}`,
  bucketArn: `arn:aws:s3:::tributary-dev-lake-${MOCK_ACCOUNT_ID}-${REGION}`,
  keyArn: `arn:aws:kms:${REGION}:${MOCK_ACCOUNT_ID}:key/lake-key`,
  logBucketArn: `arn:aws:s3:::tributary-dev-access-logs-${MOCK_ACCOUNT_ID}-${REGION}`,
} as const;
export const GLUE_ARNS = [
  `arn:aws:glue:${REGION}:${MOCK_ACCOUNT_ID}:catalog`,
  `arn:aws:glue:${REGION}:${MOCK_ACCOUNT_ID}:database/tributary_dev`,
  `arn:aws:glue:${REGION}:${MOCK_ACCOUNT_ID}:table/tributary_dev/weblogs`,
];
export const ALARM_TOPIC_ARN = `arn:aws:sns:${REGION}:${MOCK_ACCOUNT_ID}:tributary-dev-alarms`;

/** The dev profile's warehouse and loader settings, as the lead's profile section proposes them. */
export const DEV_WAREHOUSE: WarehouseSettings = {
  kind: "serverless",
  databaseName: "tributary",
  adminUsername: "tributary_admin",
  baseCapacity: 8,
  nodeType: "ra3.xlplus",
  numberOfNodes: 2,
  snapshotRetentionDays: 1,
  deletionProtection: false,
  skipFinalSnapshot: true,
};
export const PROD_WAREHOUSE: WarehouseSettings = {
  ...DEV_WAREHOUSE,
  baseCapacity: 32,
  snapshotRetentionDays: 35,
  deletionProtection: true,
  skipFinalSnapshot: false,
};
export const DEV_LOADER: LoaderSettings = { scheduleExpression: "rate(5 minutes)", oldestMessageAlarmSeconds: 1800 };

export interface BuiltStack {
  readonly mocks: WarehouseMocks;
  /** `${type}::${name}` → the `protect` option it was registered with. */
  readonly protectedResources: ReadonlySet<string>;
  readonly outputs: Record<string, unknown>;
  ofType(type: string): RecordedResource[];
  named(name: string): RecordedResource;
}

interface RegisterRequest {
  getName(): string;
  getType(): string;
  getProtect(): boolean | undefined;
}

let protectedNames: Set<string> | undefined;

/** Records which registrations carry `protect`; the mock interface does not pass resource options. */
function recordProtect(): Set<string> {
  if (!protectedNames) {
    protectedNames = new Set();
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { MockMonitor } = require("@pulumi/pulumi/runtime/mocks") as {
      MockMonitor: { prototype: { registerResource: (req: RegisterRequest, cb: unknown) => Promise<void> } };
    };
    const register = MockMonitor.prototype.registerResource;
    MockMonitor.prototype.registerResource = function (this: unknown, req: RegisterRequest, cb: unknown) {
      if (req.getProtect()) protectedNames?.add(`${req.getType()}::${req.getName()}`);
      return register.call(this, req, cb);
    };
  }
  protectedNames.clear();
  return protectedNames;
}

/**
 * Wires Network → Warehouse → Loader the way Platform does, under fresh mocks, and waits until every
 * registration is done. Components are imported after setMocks, as Pulumi's testing guide asks.
 */
export async function buildStack(
  warehouse: WarehouseSettings,
  loader: LoaderSettings = DEV_LOADER,
): Promise<BuiltStack> {
  const mocks = new WarehouseMocks(REGION);
  const protectedResources = recordProtect();
  await pulumi.runtime.setMocks(mocks, "tributary", "test", false);
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { Network } = require("../../../infra/network") as typeof import("../../../infra/network");
  const { Warehouse } = require("../../../infra/warehouse") as typeof import("../../../infra/warehouse");
  const { Loader } = require("../../../infra/loader") as typeof import("../../../infra/loader");
  const { LakeNotifications } =
    require("../../../infra/lake-notifications") as typeof import("../../../infra/lake-notifications");
  /* eslint-enable @typescript-eslint/no-require-imports */
  const tags = { project: "tributary", stack: "test" };

  const network = new Network("tributary-network", {
    namePrefix: NAME_PREFIX,
    account: ACCOUNT,
    s3BucketArns: [LAKE.bucketArn, LAKE.logBucketArn],
    tags,
  });
  const built = new Warehouse("tributary-warehouse", {
    ...warehouse,
    namePrefix: NAME_PREFIX,
    account: ACCOUNT,
    subnetIds: network.subnetIds,
    securityGroupIds: [network.securityGroupId],
    lake: { bucketArn: LAKE.bucketArn, keyArn: LAKE.keyArn },
    glueArns: GLUE_ARNS,
    keyDeletionWindowDays: 7,
    tags,
  });
  const load = new Loader("tributary-loader", {
    ...loader,
    namePrefix: NAME_PREFIX,
    account: ACCOUNT,
    datasets: allDatasets(),
    warehouse: {
      kind: built.kind,
      name: built.target.name,
      arn: built.target.arn,
      databaseName: built.databaseName,
      adminSecretArn: built.adminSecretArn,
      keyArn: built.keyArn,
      copyRoleArn: built.copyRoleArn,
    },
    lake: LAKE,
    logRetentionDays: 14,
    logKeyArn: LAKE.keyArn,
    alarmTopicArn: ALARM_TOPIC_ARN,
    tags,
  });

  // The bucket's one notification configuration, as Platform makes it.
  new LakeNotifications("tributary-lake-notifications", {
    bucketName: LAKE.bucketName,
    queues: [load.notificationRule],
  });

  const exported: Record<string, pulumi.Output<unknown>> = {
    endpointAddress: built.endpointAddress,
    port: built.port,
    databaseName: built.databaseName,
    adminSecretArn: built.adminSecretArn,
    warehouseName: built.target.name,
    functionName: load.functionName,
    queueUrl: load.queueUrl,
  };
  const outputs = await new Promise<Record<string, unknown>>((resolve) =>
    pulumi.all(exported).apply((values) => resolve(values)),
  );
  // Resources that feed no output (alarms, policies) may still be registering: wait until quiet.
  let seen = -1;
  while (seen !== mocks.resources.length) {
    seen = mocks.resources.length;
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    mocks,
    protectedResources: new Set(protectedResources),
    outputs,
    ofType: (type) => mocks.resources.filter((r) => r.type === type),
    named: (name) => {
      const found = mocks.resources.find((r) => r.name === name);
      if (!found) throw new Error(`no resource named ${name}; have ${mocks.resources.map((r) => r.name).join(", ")}`);
      return found;
    },
  };
}
