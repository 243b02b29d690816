import * as pulumi from "@pulumi/pulumi";

/**
 * Pulumi mocks for component tests: every resource gets a plausible ARN and the physical name AWS
 * would give it, the AWS provider's account/region/partition lookups answer with fixed values, and
 * every registration is recorded so tests can assert on the resolved inputs.
 */

export const MOCK_ACCOUNT_ID = "123456789012";
export const MOCK_REGION = "eu-west-1";
export const MOCK_PARTITION = "aws";

/** One registered custom resource, with its inputs as the provider would receive them. */
export interface RecordedResource {
  readonly type: string;
  readonly name: string;
  readonly id: string;
  readonly inputs: Record<string, unknown>;
}

const recorded: RecordedResource[] = [];

/** Everything registered since the last `resetRecordedResources()`, in registration order. */
export function recordedResources(): readonly RecordedResource[] {
  return recorded;
}

export function resetRecordedResources(): void {
  recorded.length = 0;
}

export function resourcesOfType(type: string): RecordedResource[] {
  return recorded.filter((r) => r.type === type);
}

export function resourceNamed(name: string): RecordedResource {
  const found = recorded.find((r) => r.name === name);
  if (!found) throw new Error(`no resource named ${name}; have: ${recorded.map((r) => r.name).join(", ")}`);
  return found;
}

function physicalName(name: string, inputs: Record<string, unknown>): string {
  for (const key of ["name", "bucket"]) {
    if (typeof inputs[key] === "string") return inputs[key] as string;
  }
  return name;
}

/** The ARN AWS would report for a resource of this Pulumi type. */
export function mockArn(type: string, physical: string, inputs: Record<string, unknown>, id: string): string {
  const at = `${MOCK_REGION}:${MOCK_ACCOUNT_ID}`;
  const p = MOCK_PARTITION;
  switch (type) {
    case "aws:s3/bucket:Bucket":
      return `arn:${p}:s3:::${physical}`;
    case "aws:kms/key:Key":
      return `arn:${p}:kms:${at}:key/${id}`;
    case "aws:kms/alias:Alias":
      return `arn:${p}:kms:${at}:${physical}`;
    case "aws:iam/role:Role":
      return `arn:${p}:iam::${MOCK_ACCOUNT_ID}:role/${physical}`;
    case "aws:iam/instanceProfile:InstanceProfile":
      return `arn:${p}:iam::${MOCK_ACCOUNT_ID}:instance-profile/${physical}`;
    case "aws:lambda/function:Function":
      return `arn:${p}:lambda:${at}:function:${physical}`;
    case "aws:cloudwatch/logGroup:LogGroup":
      return `arn:${p}:logs:${at}:log-group:${physical}`;
    case "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream":
      return `arn:${p}:firehose:${at}:deliverystream/${physical}`;
    case "aws:glue/catalogDatabase:CatalogDatabase":
      return `arn:${p}:glue:${at}:database/${physical}`;
    case "aws:glue/catalogTable:CatalogTable":
      return `arn:${p}:glue:${at}:table/${String(inputs.databaseName)}/${physical}`;
    case "aws:athena/workgroup:Workgroup":
      return `arn:${p}:athena:${at}:workgroup/${physical}`;
    case "aws:ssm/parameter:Parameter":
      return `arn:${p}:ssm:${at}:parameter${physical.startsWith("/") ? "" : "/"}${physical}`;
    case "aws:sns/topic:Topic":
      return `arn:${p}:sns:${at}:${physical}`;
    case "aws:cloudwatch/metricAlarm:MetricAlarm":
      return `arn:${p}:cloudwatch:${at}:alarm:${physical}`;
    default: {
      const service = type.split(":")[1]?.split("/")[0] ?? "unknown";
      return `arn:${p}:${service}:${at}:${physical}`;
    }
  }
}

/** Installs the mocks. Call before constructing components (each test file's `before`). */
export async function installPulumiMocks(options: { readonly preview?: boolean } = {}): Promise<void> {
  await pulumi.runtime.setMocks(
    {
      newResource(args: pulumi.runtime.MockResourceArgs): { id: string; state: Record<string, unknown> } {
        const inputs = args.inputs as Record<string, unknown>;
        const id = `${args.name}-id`;
        const physical = physicalName(args.name, inputs);
        const arn = mockArn(args.type, physical, inputs, id);
        recorded.push({ type: args.type, name: args.name, id, inputs });
        const state: Record<string, unknown> = { ...inputs, arn, name: physical };
        if (args.type === "aws:s3/bucket:Bucket") state.bucket = physical;
        if (args.type === "aws:kms/key:Key") state.keyId = id;
        return { id, state };
      },
      call(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
        switch (args.token) {
          case "aws:index/getCallerIdentity:getCallerIdentity":
            return {
              accountId: MOCK_ACCOUNT_ID,
              arn: `arn:${MOCK_PARTITION}:iam::${MOCK_ACCOUNT_ID}:user/tester`,
              userId: "AIDAMOCKUSER",
              id: MOCK_ACCOUNT_ID,
            };
          case "aws:index/getRegion:getRegion":
            return {
              name: MOCK_REGION,
              region: MOCK_REGION,
              id: MOCK_REGION,
              description: "Europe (Ireland)",
              endpoint: `ec2.${MOCK_REGION}.amazonaws.com`,
            };
          case "aws:index/getPartition:getPartition":
            return {
              partition: MOCK_PARTITION,
              dnsSuffix: "amazonaws.com",
              reverseDnsPrefix: "com.amazonaws",
              id: MOCK_PARTITION,
            };
          default:
            return args.inputs as Record<string, unknown>;
        }
      },
    },
    "tributary",
    "test",
    options.preview ?? false,
  );
}

/** Pulumi's marker of a secret value in serialized inputs. */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const SECRET_SIG_VALUE = "1b47061264138c4ac30d75fd1eb44270";

/** An input as its plain value, whether or not the SDK passed it as a secret. */
export function unsecret(value: unknown): unknown {
  if (
    value !== null &&
    typeof value === "object" &&
    (value as Record<string, unknown>)[SECRET_SIG] === SECRET_SIG_VALUE
  ) {
    return (value as Record<string, unknown>).value;
  }
  return value;
}

/** The value of an output, for `await` in tests. */
export function promiseOf<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply((value) => resolve(value)));
}

/**
 * Resolves when every resource registration started so far (and those they start) has finished.
 * Uses the SDK's own RPC bookkeeping (runtime/settings waitForRPCs, not part of the typed surface),
 * which is what `pulumi up` waits on before exiting.
 */
export async function allRegistered(): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const settings = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs(): Promise<void> };
  await settings.waitForRPCs();
}
