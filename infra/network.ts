import * as aws from "@pulumi/aws";
import * as awsx from "@pulumi/awsx";
import * as pulumi from "@pulumi/pulumi";
import type { AccountContext } from "./iam/policy";
import { s3EndpointPolicy } from "./iam/s3";

/** The port Redshift (Serverless and provisioned) listens on. */
export const REDSHIFT_PORT = 5439;
/** HTTPS: how Redshift reaches S3 through the gateway endpoint under enhanced VPC routing. */
export const HTTPS_PORT = 443;
/** Redshift Serverless needs subnets in at least three Availability Zones. */
export const AVAILABILITY_ZONE_COUNT = 3;
export const DEFAULT_VPC_CIDR = "10.40.0.0/16";

export interface NetworkArgs {
  readonly namePrefix: string;
  readonly account: pulumi.Input<AccountContext>;
  /** The only buckets requests through the S3 gateway endpoint may reach (the lake and its log bucket). */
  readonly s3BucketArns: pulumi.Input<ReadonlyArray<pulumi.Input<string>>>;
  /** @default "10.40.0.0/16" */
  readonly cidrBlock?: string;
  /** Zones to use; must be three. @default the region's first three */
  readonly availabilityZoneNames?: readonly string[];
  readonly tags: Readonly<Record<string, string>>;
}

/** `com.amazonaws.<region>.s3` (China regions use the `cn.` prefix). */
export function s3GatewayServiceName(region: string): string {
  return `${region.startsWith("cn-") ? "cn." : ""}com.amazonaws.${region}.s3`;
}

/** Pure: every problem with the network settings, each naming the field, the value and the fix. */
export function validateNetworkArgs(args: Pick<NetworkArgs, "cidrBlock" | "availabilityZoneNames">): string[] {
  const problems: string[] = [];
  if (args.cidrBlock !== undefined) {
    const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(args.cidrBlock);
    const prefix = match ? Number(match[5]) : NaN;
    if (!match || match.slice(1, 5).some((octet) => Number(octet) > 255) || prefix < 16 || prefix > 24) {
      problems.push(
        `network.cidrBlock ${JSON.stringify(args.cidrBlock)} is not an IPv4 CIDR between /16 and /24; use e.g. "${DEFAULT_VPC_CIDR}" (the workgroup needs free addresses in each of three subnets).`,
      );
    }
  }
  if (
    args.availabilityZoneNames !== undefined &&
    new Set(args.availabilityZoneNames).size !== AVAILABILITY_ZONE_COUNT
  ) {
    problems.push(
      `network.availabilityZoneNames ${JSON.stringify(args.availabilityZoneNames)} must name ${AVAILABILITY_ZONE_COUNT} distinct zones (Redshift Serverless needs subnets in three AZs); list three or leave it unset for the region's first three.`,
    );
  }
  return problems;
}

/**
 * The warehouse's private network: a VPC with one isolated subnet in each of three zones (no
 * internet gateway, no NAT gateway: nothing in it can reach or be reached from the internet), an S3
 * gateway endpoint so COPY and Spectrum read the lake privately under enhanced VPC routing (its
 * policy admits this stack's buckets only), and
 * the warehouse's security group.
 *
 * The loader Lambda does not run here: it talks to the Redshift Data API, SQS and S3, all public AWS
 * endpoints, so it needs neither a NAT gateway nor interface endpoints (each of which bills by the
 * hour per zone), and the warehouse keeps no route to anything but S3.
 */
export class Network extends pulumi.ComponentResource {
  readonly vpc: awsx.ec2.Vpc;
  readonly s3Endpoint: aws.ec2.VpcEndpoint;
  readonly securityGroup: aws.ec2.SecurityGroup;
  readonly vpcId: pulumi.Output<string>;
  /** The three isolated subnets, one per zone. */
  readonly subnetIds: pulumi.Output<string[]>;
  readonly routeTableIds: pulumi.Output<string[]>;
  readonly securityGroupId: pulumi.Output<string>;

  constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tributary:network:Network", name, {}, opts);
    const problems = validateNetworkArgs(args);
    if (problems.length > 0) throw new Error(`Network ${name}:\n  - ${problems.join("\n  - ")}`);
    const account = pulumi.output(args.account);
    const tags = { ...args.tags };

    this.vpc = new awsx.ec2.Vpc(
      `${name}-vpc`,
      {
        cidrBlock: args.cidrBlock ?? DEFAULT_VPC_CIDR,
        ...(args.availabilityZoneNames
          ? { availabilityZoneNames: [...args.availabilityZoneNames] }
          : { numberOfAvailabilityZones: AVAILABILITY_ZONE_COUNT }),
        subnetStrategy: "Auto",
        // Isolated only: without a public subnet awsx creates no internet gateway.
        subnetSpecs: [{ type: "Isolated", name: "warehouse" }],
        natGateways: { strategy: "None" },
        // Private DNS is how clients inside the VPC resolve the workgroup endpoint.
        enableDnsHostnames: true,
        enableDnsSupport: true,
        tags,
      },
      { parent: this },
    );
    this.vpcId = this.vpc.vpcId;
    this.subnetIds = this.vpc.isolatedSubnetIds;
    // awsx returns the route tables as resource references; reading `.id` through pulumi.all works
    // for those and for plain `{ id }` objects alike (what a test double can return).
    this.routeTableIds = this.vpc.routeTables.apply((tables) => pulumi.all((tables ?? []).map((table) => table.id)));

    this.s3Endpoint = new aws.ec2.VpcEndpoint(
      `${name}-s3-endpoint`,
      {
        vpcId: this.vpcId,
        serviceName: account.apply((a) => s3GatewayServiceName(a.region)),
        vpcEndpointType: "Gateway",
        routeTableIds: this.routeTableIds,
        policy: pulumi
          .output(args.s3BucketArns)
          .apply((arns) => pulumi.all([...arns]))
          .apply((arns) => JSON.stringify(s3EndpointPolicy(arns))),
        tags: { ...tags, Name: `${args.namePrefix}-s3` },
      },
      { parent: this },
    );

    // Inline rules make the group authoritative: AWS's default allow-all egress rule is removed.
    this.securityGroup = new aws.ec2.SecurityGroup(
      `${name}-warehouse-sg`,
      {
        name: `${args.namePrefix}-warehouse`,
        description: "Redshift: clients only from this group; egress only to S3 (gateway endpoint) and this group",
        vpcId: this.vpcId,
        ingress: [
          {
            description: "Redshift from members of this group only",
            protocol: "tcp",
            fromPort: REDSHIFT_PORT,
            toPort: REDSHIFT_PORT,
            self: true,
          },
        ],
        egress: [
          {
            // Under enhanced VPC routing COPY, UNLOAD and Spectrum reach S3 from the VPC.
            description: "S3 over HTTPS through the gateway endpoint",
            protocol: "tcp",
            fromPort: HTTPS_PORT,
            toPort: HTTPS_PORT,
            prefixListIds: [this.s3Endpoint.prefixListId],
          },
          {
            description: "Redshift to members of this group",
            protocol: "tcp",
            fromPort: REDSHIFT_PORT,
            toPort: REDSHIFT_PORT,
            self: true,
          },
        ],
        tags: { ...tags, Name: `${args.namePrefix}-warehouse` },
      },
      { parent: this },
    );
    this.securityGroupId = this.securityGroup.id;

    this.registerOutputs({
      vpcId: this.vpcId,
      subnetIds: this.subnetIds,
      securityGroupId: this.securityGroupId,
      s3EndpointId: this.s3Endpoint.id,
    });
  }
}
