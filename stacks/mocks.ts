import type * as pulumi from "@pulumi/pulumi";

/** The fake account every offline plan and test runs in. */
export const MOCK_ACCOUNT_ID = "123456789012";

/** What the awsx VPC (a provider-side component: one opaque resource under mocks) reports. */
export const MOCK_VPC = {
  vpcId: "vpc-0a1b2c3d",
  isolatedSubnetIds: ["subnet-iso-a", "subnet-iso-b", "subnet-iso-c"],
  routeTableIds: ["rtb-iso-a", "rtb-iso-b", "rtb-iso-c"],
} as const;
/** The S3 gateway endpoint's prefix list. */
export const MOCK_S3_PREFIX_LIST = "pl-6da54004";

/** How Pulumi's RPC layer marks a secret inside resource inputs: `{ <signature key>: <signature>, value }`. */
const SECRET_SIGNATURE_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIGNATURE = "1b47061264138c4ac30d75fd1eb44270";

/** Whether a resource input, as mocks receive it, is a Pulumi secret (its plain value is `.value`). */
export function isPulumiSecret(value: unknown): value is { readonly value: unknown } {
  return (
    value !== null &&
    typeof value === "object" &&
    (value as Record<string, unknown>)[SECRET_SIGNATURE_KEY] === SECRET_SIGNATURE
  );
}

export interface RecordedResource {
  readonly type: string;
  readonly name: string;
  readonly id: string;
  readonly inputs: Record<string, unknown>;
}

/**
 * Pulumi mocks that answer like AWS would for the identifiers other resources read (ids, ARNs,
 * names), and record every resource. Shared by `tributary plan` and the tests.
 */
export class AwsMocks implements pulumi.runtime.Mocks {
  readonly resources: RecordedResource[] = [];

  constructor(readonly region: string = "eu-west-1") {}

  newResource(args: pulumi.runtime.MockResourceArgs): { id: string; state: Record<string, unknown> } {
    const inputs = (args.inputs ?? {}) as Record<string, unknown>;
    // AWS's id where other resources use it as a name (a bucket's id is its name), else a stable fake.
    const id =
      args.type === "aws:s3/bucket:Bucket" && typeof inputs.bucket === "string" ? inputs.bucket : `${args.name}-id`;
    this.resources.push({ type: args.type, name: args.name, id, inputs });
    return { id, state: { ...inputs, ...this.computedState(args.type, args.name, inputs, id) } };
  }

  call(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
    switch (args.token) {
      case "aws:index/getCallerIdentity:getCallerIdentity":
        return {
          accountId: MOCK_ACCOUNT_ID,
          arn: `arn:aws:iam::${MOCK_ACCOUNT_ID}:user/plan`,
          userId: "AIDAPLAN",
          id: MOCK_ACCOUNT_ID,
        };
      case "aws:index/getRegion:getRegion":
        return {
          name: this.region,
          region: this.region,
          id: this.region,
          description: this.region,
          endpoint: `ec2.${this.region}.amazonaws.com`,
        };
      case "aws:index/getPartition:getPartition":
        return { partition: "aws", dnsSuffix: "amazonaws.com", reverseDnsPrefix: "com.amazonaws", id: "aws" };
      case "aws:index/getAvailabilityZones:getAvailabilityZones":
        return {
          names: ["a", "b", "c"].map((z) => `${this.region}${z}`),
          zoneIds: ["1", "2", "3"].map((z) => `euw1-az${z}`),
          id: this.region,
        };
      default:
        return { ...(args.inputs as Record<string, unknown>) };
    }
  }

  /** The attributes AWS computes that other resources reference. */
  private computedState(
    type: string,
    name: string,
    inputs: Record<string, unknown>,
    id: string,
  ): Record<string, unknown> {
    const account = MOCK_ACCOUNT_ID;
    const region = this.region;
    const str = (key: string) => (typeof inputs[key] === "string" ? (inputs[key] as string) : undefined);
    const physical = str("name") ?? str("bucket") ?? name;
    const service = type.split(":")[1]?.split("/")[0] ?? "unknown";
    switch (type) {
      case "aws:s3/bucket:Bucket":
        return {
          bucket: str("bucket") ?? name,
          arn: `arn:aws:s3:::${str("bucket") ?? name}`,
          id: str("bucket") ?? name,
        };
      case "aws:kms/key:Key":
        return { arn: `arn:aws:kms:${region}:${account}:key/${id}`, keyId: id };
      case "aws:iam/role:Role":
        return { arn: `arn:aws:iam::${account}:role/${physical}`, name: physical };
      case "aws:iam/instanceProfile:InstanceProfile":
        return { arn: `arn:aws:iam::${account}:instance-profile/${physical}`, name: physical };
      case "aws:lambda/function:Function":
        return {
          arn: `arn:aws:lambda:${region}:${account}:function:${physical}`,
          name: physical,
          qualifiedArn: `arn:aws:lambda:${region}:${account}:function:${physical}:$LATEST`,
        };
      case "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream":
        return { arn: `arn:aws:firehose:${region}:${account}:deliverystream/${physical}`, name: physical };
      case "aws:cloudwatch/logGroup:LogGroup":
        return { arn: `arn:aws:logs:${region}:${account}:log-group:${physical}`, name: physical };
      case "aws:cloudwatch/logStream:LogStream":
        return {
          arn: `arn:aws:logs:${region}:${account}:log-group:${str("logGroupName") ?? "unknown"}:log-stream:${physical}`,
          name: physical,
        };
      case "aws:sns/topic:Topic":
        return { arn: `arn:aws:sns:${region}:${account}:${physical}`, name: physical };
      case "aws:sqs/queue:Queue":
        return {
          arn: `arn:aws:sqs:${region}:${account}:${physical}`,
          name: physical,
          url: `https://sqs.${region}.amazonaws.com/${account}/${physical}`,
        };
      case "aws:glue/catalogDatabase:CatalogDatabase":
        return { arn: `arn:aws:glue:${region}:${account}:database/${physical}`, name: physical, catalogId: account };
      case "aws:glue/catalogTable:CatalogTable":
        return {
          arn: `arn:aws:glue:${region}:${account}:table/${str("databaseName") ?? "db"}/${physical}`,
          name: physical,
        };
      case "aws:ssm/parameter:Parameter":
        return {
          arn: `arn:aws:ssm:${region}:${account}:parameter${physical.startsWith("/") ? "" : "/"}${physical}`,
          name: physical,
        };
      case "aws:athena/workgroup:Workgroup":
        return { arn: `arn:aws:athena:${region}:${account}:workgroup/${physical}`, name: physical };
      case "awsx:ec2:Vpc":
        // A provider-side component: under mocks it is one resource whose outputs we supply.
        return {
          vpcId: MOCK_VPC.vpcId,
          isolatedSubnetIds: [...MOCK_VPC.isolatedSubnetIds],
          privateSubnetIds: [],
          publicSubnetIds: [],
          routeTables: MOCK_VPC.routeTableIds.map((id) => ({ id })),
        };
      case "aws:ec2/vpcEndpoint:VpcEndpoint":
        return { prefixListId: MOCK_S3_PREFIX_LIST };
      case "aws:cloudwatch/eventRule:EventRule":
        return { arn: `arn:aws:events:${region}:${account}:rule/${physical}`, name: physical };
      case "aws:redshiftserverless/namespace:Namespace":
        return {
          arn: `arn:aws:redshift-serverless:${region}:${account}:namespace/${id}`,
          adminPasswordSecretArn: `arn:aws:secretsmanager:${region}:${account}:secret:redshift!${str("namespaceName")}-admin-AbCdEf`,
        };
      case "aws:redshiftserverless/workgroup:Workgroup":
        return {
          arn: `arn:aws:redshift-serverless:${region}:${account}:workgroup/${id}`,
          endpoints: [
            { address: `${str("workgroupName")}.${account}.${region}.redshift-serverless.amazonaws.com`, port: 5439 },
          ],
        };
      case "aws:redshift/cluster:Cluster":
        return {
          arn: `arn:aws:redshift:${region}:${account}:cluster:${str("clusterIdentifier")}`,
          dnsName: `${str("clusterIdentifier")}.plan.${region}.redshift.amazonaws.com`,
          masterPasswordSecretArn: `arn:aws:secretsmanager:${region}:${account}:secret:redshift!${str("clusterIdentifier")}-admin-AbCdEf`,
        };
      case "aws:secretsmanager/secret:Secret":
        return { arn: `arn:aws:secretsmanager:${region}:${account}:secret:${physical}-AbCdEf`, name: physical };
      default:
        return {
          arn: `arn:aws:${service}:${region}:${account}:${physical}`,
          ...(str("name") ? {} : { name: physical }),
        };
    }
  }
}
