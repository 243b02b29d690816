import * as assert from "assert";
import type { PolicyDocument } from "../../../infra/iam/policy";
import { MOCK_S3_PREFIX_LIST, MOCK_VPC } from "./mocks";
import { wildcardViolations } from "../../support/policy-rules";
import { ALARM_TOPIC_ARN, buildStack, DEV_WAREHOUSE, LAKE, PROD_WAREHOUSE, type BuiltStack } from "./stack";
import { unsecret } from "../../support/pulumi-mocks";

const ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy";
const NAMESPACE = "aws:redshiftserverless/namespace:Namespace";
const WORKGROUP = "aws:redshiftserverless/workgroup:Workgroup";
const CLUSTER = "aws:redshift/cluster:Cluster";
const KMS_KEY = "aws:kms/key:Key";
const WAREHOUSE_KEY_ARN = "arn:aws:kms:eu-west-1:123456789012:key/tributary-warehouse-key-id";
const COPY_ROLE_ARN = "arn:aws:iam::123456789012:role/tributary-dev-redshift-copy";
const AUDIT_LOGS = ["userlog", "connectionlog", "useractivitylog"];

/** Every key path under which some resource input names a password. */
function passwordInputs(stack: BuiltStack): string[] {
  const found: string[] = [];
  const walk = (value: unknown, at: string) => {
    if (value === null || typeof value !== "object") return;
    for (const [key, inner] of Object.entries(value)) {
      if (
        /password/i.test(key) &&
        !/^(manageAdminPassword|manageMasterPassword|adminPasswordSecretKmsKeyId|masterPasswordSecretKmsKeyId)$/.test(
          key,
        )
      ) {
        found.push(`${at}.${key}`);
      }
      walk(inner, `${at}.${key}`);
    }
  };
  for (const r of stack.mocks.resources) walk(r.inputs, r.name);
  return found;
}

function unwrapSecrets(inputs: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(inputs).map(([key, value]) => [key, unsecret(value)]));
}

function policyOf(stack: BuiltStack, name: string): PolicyDocument {
  return JSON.parse(stack.named(name).inputs.policy as string) as PolicyDocument;
}

function commonRules(stack: () => BuiltStack) {
  it('no role policy grants `*`, `service:*`, or Resource "*" where the action has a scope', () => {
    const roles = stack().ofType(ROLE_POLICY);
    assert.deepStrictEqual(roles.map((r) => r.name).sort(), [
      "tributary-loader-role-policy",
      "tributary-warehouse-copy-role-policy",
    ]);
    for (const role of roles) {
      assert.deepStrictEqual(
        wildcardViolations(JSON.parse(role.inputs.policy as string) as PolicyDocument),
        [],
        role.name,
      );
    }
  });

  it("no password is an input anywhere: Redshift generates it and keeps it in Secrets Manager", () => {
    assert.deepStrictEqual(passwordInputs(stack()), []);
  });

  it("the warehouse key rotates", () => {
    const key = stack().named("tributary-warehouse-key");
    assert.strictEqual(key.inputs.enableKeyRotation, true);
  });

  it("network: one awsx VPC, three AZs, isolated subnets only, no NAT gateway", () => {
    const [vpc] = stack().ofType("awsx:ec2:Vpc");
    assert.deepStrictEqual(
      {
        numberOfAvailabilityZones: vpc.inputs.numberOfAvailabilityZones,
        subnetStrategy: vpc.inputs.subnetStrategy,
        subnetSpecs: vpc.inputs.subnetSpecs,
        natGateways: vpc.inputs.natGateways,
      },
      {
        numberOfAvailabilityZones: 3,
        subnetStrategy: "Auto",
        subnetSpecs: [{ type: "Isolated", name: "warehouse" }],
        natGateways: { strategy: "None" },
      },
    );
  });

  it("network: an S3 gateway endpoint on the subnets' route tables", () => {
    const [endpoint] = stack().ofType("aws:ec2/vpcEndpoint:VpcEndpoint");
    assert.deepStrictEqual(
      {
        type: endpoint.inputs.vpcEndpointType,
        service: endpoint.inputs.serviceName,
        routeTables: endpoint.inputs.routeTableIds,
        vpc: endpoint.inputs.vpcId,
      },
      {
        type: "Gateway",
        service: "com.amazonaws.eu-west-1.s3",
        routeTables: [...MOCK_VPC.routeTableIds],
        vpc: MOCK_VPC.vpcId,
      },
    );
  });

  it("network: the S3 endpoint admits reads of the lake and log buckets only", () => {
    const [endpoint] = stack().ofType("aws:ec2/vpcEndpoint:VpcEndpoint");
    assert.deepStrictEqual(JSON.parse(endpoint.inputs.policy as string), {
      Version: "2012-10-17",
      Statement: [
        {
          Sid: "OnlyThisStacksBuckets",
          Effect: "Allow",
          Principal: "*",
          Action: ["s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation"],
          Resource: [LAKE.bucketArn, `${LAKE.bucketArn}/*`, LAKE.logBucketArn, `${LAKE.logBucketArn}/*`],
        },
      ],
    });
  });

  it("network: the security group admits only itself on 5439 and sends only to S3 and itself", () => {
    const [group] = stack().ofType("aws:ec2/securityGroup:SecurityGroup");
    const rules = (list: unknown) =>
      (list as Record<string, unknown>[]).map((r) => ({
        protocol: r.protocol,
        fromPort: r.fromPort,
        toPort: r.toPort,
        self: r.self ?? false,
        cidrBlocks: r.cidrBlocks ?? [],
        prefixListIds: r.prefixListIds ?? [],
      }));
    assert.deepStrictEqual(rules(group.inputs.ingress), [
      { protocol: "tcp", fromPort: 5439, toPort: 5439, self: true, cidrBlocks: [], prefixListIds: [] },
    ]);
    assert.deepStrictEqual(rules(group.inputs.egress), [
      {
        protocol: "tcp",
        fromPort: 443,
        toPort: 443,
        self: false,
        cidrBlocks: [],
        prefixListIds: [MOCK_S3_PREFIX_LIST],
      },
      { protocol: "tcp", fromPort: 5439, toPort: 5439, self: true, cidrBlocks: [], prefixListIds: [] },
    ]);
  });

  it("loader: no reserved concurrency (a fresh account cannot reserve any), timeout under the schedule, its own role and encrypted log group", () => {
    const [fn] = stack().ofType("aws:lambda/function:Function");
    assert.strictEqual(fn.inputs.reservedConcurrentExecutions, undefined);
    assert.strictEqual(fn.inputs.role, "arn:aws:iam::123456789012:role/tributary-dev-loader");
    assert.strictEqual(fn.inputs.runtime, "nodejs22.x");
    const logs = stack().named("tributary-loader-logs");
    assert.deepStrictEqual(
      { name: logs.inputs.name, kmsKeyId: logs.inputs.kmsKeyId },
      { name: "/aws/lambda/tributary-dev-loader", kmsKeyId: LAKE.keyArn },
    );
  });

  it("loader: encrypted queue with a DLQ after 5 receives, fed by curated/*.parquet notifications of the lake bucket", () => {
    const queue = stack().named("tributary-loader-queue");
    const dlq = stack().named("tributary-loader-dlq");
    assert.strictEqual(queue.inputs.sqsManagedSseEnabled, true);
    assert.strictEqual(dlq.inputs.sqsManagedSseEnabled, true);
    // A dead letter keeps its first enqueue time: the DLQ must outlast the queue, or a late one expires early.
    assert.strictEqual(queue.inputs.messageRetentionSeconds, 7 * 24 * 3600);
    assert.strictEqual(dlq.inputs.messageRetentionSeconds, 14 * 24 * 3600);
    assert.deepStrictEqual(JSON.parse(queue.inputs.redrivePolicy as string), {
      deadLetterTargetArn: "arn:aws:sqs:eu-west-1:123456789012:tributary-dev-load-dlq",
      maxReceiveCount: 5,
    });
    const [notification] = stack().ofType("aws:s3/bucketNotification:BucketNotification");
    assert.deepStrictEqual(notification.inputs, {
      bucket: LAKE.bucketName,
      queues: [
        {
          id: "load-curated-parquet",
          queueArn: "arn:aws:sqs:eu-west-1:123456789012:tributary-dev-load",
          events: ["s3:ObjectCreated:*"],
          filterPrefix: "curated/",
          filterSuffix: ".parquet",
        },
      ],
    });
  });

  it("loader: an EventBridge schedule that alone may invoke it", () => {
    const rule = stack().named("tributary-loader-schedule");
    const permission = stack().named("tributary-loader-schedule-permission");
    assert.deepStrictEqual(
      {
        principal: permission.inputs.principal,
        sourceArn: permission.inputs.sourceArn,
        fn: permission.inputs.function,
      },
      {
        principal: "events.amazonaws.com",
        sourceArn: "arn:aws:events:eu-west-1:123456789012:rule/tributary-dev-load",
        fn: "tributary-dev-loader",
      },
    );
    assert.strictEqual(typeof rule.inputs.scheduleExpression, "string");
  });

  it("loader: dead letters, errors, failed dataset loads and a stale queue alarm to the topic", () => {
    const alarms = stack().ofType("aws:cloudwatch/metricAlarm:MetricAlarm");
    assert.deepStrictEqual(
      alarms
        .map((a) => [
          a.inputs.namespace,
          a.inputs.metricName,
          a.inputs.dimensions,
          a.inputs.threshold,
          a.inputs.alarmActions,
        ])
        .sort((x, y) => String(x[1]).localeCompare(String(y[1]))),
      [
        ["AWS/SQS", "ApproximateAgeOfOldestMessage", { QueueName: "tributary-dev-load" }, 1800, [ALARM_TOPIC_ARN]],
        [
          "AWS/SQS",
          "ApproximateNumberOfMessagesVisible",
          { QueueName: "tributary-dev-load-dlq" },
          0,
          [ALARM_TOPIC_ARN],
        ],
        ["AWS/Lambda", "Errors", { FunctionName: "tributary-dev-loader" }, 0, [ALARM_TOPIC_ARN]],
        ["Tributary/Loader", "LoadFailures", { FunctionName: "tributary-dev-loader" }, 0, [ALARM_TOPIC_ARN]],
      ],
    );
  });
}

describe("infra/warehouse plan rules: dev (Serverless, destroyable)", function () {
  this.timeout(60_000);
  let stack: BuiltStack;
  before(async () => {
    stack = await buildStack(DEV_WAREHOUSE);
  });

  commonRules(() => stack);

  it("is Serverless: a namespace and a workgroup, no cluster", () => {
    assert.strictEqual(stack.ofType(NAMESPACE).length, 1);
    assert.strictEqual(stack.ofType(WORKGROUP).length, 1);
    assert.strictEqual(stack.ofType(CLUSTER).length, 0);
  });

  it("namespace: managed admin password, customer KMS key, COPY role as default, audit logs exported", () => {
    const [namespace] = stack.ofType(NAMESPACE);
    // The provider marks the admin user name secret, so it reaches the engine wrapped as one.
    assert.deepStrictEqual(unwrapSecrets(namespace.inputs), {
      namespaceName: "tributary-dev",
      dbName: "tributary",
      adminUsername: "tributary_admin",
      manageAdminPassword: true,
      adminPasswordSecretKmsKeyId: WAREHOUSE_KEY_ARN,
      kmsKeyId: WAREHOUSE_KEY_ARN,
      iamRoles: [COPY_ROLE_ARN],
      defaultIamRoleArn: COPY_ROLE_ARN,
      logExports: AUDIT_LOGS,
      tags: { project: "tributary", stack: "test" },
    });
  });

  it("workgroup: private, enhanced VPC routing, the isolated subnets, TLS required, user activity logged", () => {
    const [workgroup] = stack.ofType(WORKGROUP);
    const parameters = Object.fromEntries(
      (workgroup.inputs.configParameters as { parameterKey: string; parameterValue: string }[]).map((p) => [
        p.parameterKey,
        p.parameterValue,
      ]),
    );
    assert.deepStrictEqual(
      {
        publiclyAccessible: workgroup.inputs.publiclyAccessible,
        enhancedVpcRouting: workgroup.inputs.enhancedVpcRouting,
        baseCapacity: workgroup.inputs.baseCapacity,
        subnetIds: workgroup.inputs.subnetIds,
        securityGroupIds: workgroup.inputs.securityGroupIds,
        require_ssl: parameters.require_ssl,
        enable_user_activity_logging: parameters.enable_user_activity_logging,
      },
      {
        publiclyAccessible: false,
        enhancedVpcRouting: true,
        baseCapacity: 8,
        subnetIds: [...MOCK_VPC.isolatedSubnetIds],
        securityGroupIds: ["tributary-network-warehouse-sg-id"],
        require_ssl: "true",
        enable_user_activity_logging: "true",
      },
    );
  });

  it("the loader role submits statements to this workgroup only", () => {
    const submit = policyOf(stack, "tributary-loader-role-policy").Statement.find(
      (s) => s.Sid === "SubmitStatementsToThisWarehouse",
    );
    assert.strictEqual(
      submit?.Resource,
      "arn:aws:redshift-serverless:eu-west-1:123456789012:workgroup/tributary-warehouse-workgroup-id",
    );
  });

  it("dev is destroyable: nothing is protected", () => {
    assert.deepStrictEqual([...stack.protectedResources], []);
  });

  it("exports what clients need: endpoint, database, admin secret, loader function and queue", () => {
    assert.deepStrictEqual(stack.outputs, {
      endpointAddress: "tributary-dev.123456789012.eu-west-1.redshift-serverless.amazonaws.com",
      port: 5439,
      databaseName: "tributary",
      adminSecretArn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:redshift!tributary-dev-admin-AbCdEf",
      warehouseName: "tributary-dev",
      functionName: "tributary-dev-loader",
      queueUrl: "https://sqs.eu-west-1.amazonaws.com/123456789012/tributary-dev-load",
    });
  });
});

describe("infra/warehouse plan rules: prod on Serverless (protected)", function () {
  this.timeout(60_000);
  let stack: BuiltStack;
  before(async () => {
    stack = await buildStack(PROD_WAREHOUSE, {
      scheduleExpression: "rate(15 minutes)",
      timeoutSeconds: 600,
      oldestMessageAlarmSeconds: 3600,
      reservedConcurrency: 1,
    });
  });

  it("protects the namespace, the workgroup and the key from `pulumi destroy`", () => {
    assert.deepStrictEqual([...stack.protectedResources].sort(), [
      `${KMS_KEY}::tributary-warehouse-key`,
      `${NAMESPACE}::tributary-warehouse-namespace`,
      `${WORKGROUP}::tributary-warehouse-workgroup`,
    ]);
  });

  it("uses the profile's base capacity and schedule", () => {
    assert.strictEqual(stack.ofType(WORKGROUP)[0].inputs.baseCapacity, 32);
    assert.strictEqual(stack.named("tributary-loader-schedule").inputs.scheduleExpression, "rate(15 minutes)");
    assert.strictEqual(stack.ofType("aws:lambda/function:Function")[0].inputs.timeout, 600);
    assert.strictEqual(stack.named("tributary-loader-queue").inputs.visibilityTimeoutSeconds, 660);
  });

  it("an explicit reserved concurrency reaches the loader function", () => {
    assert.strictEqual(stack.ofType("aws:lambda/function:Function")[0].inputs.reservedConcurrentExecutions, 1);
  });
});

describe("infra/warehouse plan rules: provisioned (switched by warehouse.kind)", function () {
  this.timeout(60_000);
  let stack: BuiltStack;
  before(async () => {
    stack = await buildStack({ ...PROD_WAREHOUSE, kind: "provisioned" });
  });

  commonRules(() => stack);

  it("is a cluster: no namespace, no workgroup", () => {
    assert.strictEqual(stack.ofType(CLUSTER).length, 1);
    assert.strictEqual(stack.ofType(NAMESPACE).length, 0);
    assert.strictEqual(stack.ofType(WORKGROUP).length, 0);
  });

  it("cluster: private, EVR, managed password, encrypted with the key, COPY role default, snapshots kept", () => {
    const [cluster] = stack.ofType(CLUSTER);
    assert.deepStrictEqual(unwrapSecrets(cluster.inputs), {
      clusterIdentifier: "tributary-dev",
      databaseName: "tributary",
      masterUsername: "tributary_admin",
      manageMasterPassword: true,
      masterPasswordSecretKmsKeyId: WAREHOUSE_KEY_ARN,
      nodeType: "ra3.xlplus",
      clusterType: "multi-node",
      numberOfNodes: 2,
      port: 5439,
      encrypted: "true",
      kmsKeyId: WAREHOUSE_KEY_ARN,
      publiclyAccessible: false,
      enhancedVpcRouting: true,
      clusterSubnetGroupName: "tributary-dev",
      clusterParameterGroupName: "tributary-dev",
      vpcSecurityGroupIds: ["tributary-network-warehouse-sg-id"],
      iamRoles: [COPY_ROLE_ARN],
      defaultIamRoleArn: COPY_ROLE_ARN,
      automatedSnapshotRetentionPeriod: 35,
      skipFinalSnapshot: false,
      finalSnapshotIdentifier: "tributary-dev-final",
      tags: { project: "tributary", stack: "test" },
    });
  });

  it("TLS required by the parameter group, audit logs to CloudWatch, subnets are the isolated ones", () => {
    const [parameterGroup] = stack.ofType("aws:redshift/parameterGroup:ParameterGroup");
    assert.deepStrictEqual(parameterGroup.inputs.parameters, [
      { name: "require_ssl", value: "true" },
      { name: "enable_user_activity_logging", value: "true" },
    ]);
    const [logging] = stack.ofType("aws:redshift/logging:Logging");
    assert.deepStrictEqual(logging.inputs, {
      clusterIdentifier: "tributary-dev",
      logDestinationType: "cloudwatch",
      logExports: AUDIT_LOGS,
    });
    const [subnetGroup] = stack.ofType("aws:redshift/subnetGroup:SubnetGroup");
    assert.deepStrictEqual(subnetGroup.inputs.subnetIds, [...MOCK_VPC.isolatedSubnetIds]);
  });

  it("the loader role submits statements to this cluster only", () => {
    const submit = policyOf(stack, "tributary-loader-role-policy").Statement.find(
      (s) => s.Sid === "SubmitStatementsToThisWarehouse",
    );
    assert.strictEqual(submit?.Resource, "arn:aws:redshift:eu-west-1:123456789012:cluster:tributary-dev");
  });

  it("protects the cluster and the key", () => {
    assert.deepStrictEqual([...stack.protectedResources].sort(), [
      `${KMS_KEY}::tributary-warehouse-key`,
      `${CLUSTER}::tributary-warehouse-cluster`,
    ]);
  });
});
