import type * as pulumi from "@pulumi/pulumi";
import { AwsMocks, MOCK_ACCOUNT_ID } from "../../../stacks/mocks";

/** Outputs the awsx VPC (a provider-side component: one opaque resource under mocks) reports. */
export const MOCK_VPC = {
  vpcId: "vpc-0a1b2c3d",
  isolatedSubnetIds: ["subnet-iso-a", "subnet-iso-b", "subnet-iso-c"],
  routeTableIds: ["rtb-iso-a", "rtb-iso-b", "rtb-iso-c"],
} as const;
export const MOCK_S3_PREFIX_LIST = "pl-6da54004";

/**
 * AwsMocks plus the computed attributes the network and warehouse read: what `stacks/mocks.ts`
 * needs to answer for `tributary plan` to show them (see the report to the lead).
 */
export class WarehouseMocks extends AwsMocks {
  override newResource(args: pulumi.runtime.MockResourceArgs): { id: string; state: Record<string, unknown> } {
    const base = super.newResource(args);
    const inputs = (args.inputs ?? {}) as Record<string, unknown>;
    const region = this.region;
    const extra = ((): Record<string, unknown> => {
      switch (args.type) {
        case "awsx:ec2:Vpc":
          return {
            vpcId: MOCK_VPC.vpcId,
            isolatedSubnetIds: [...MOCK_VPC.isolatedSubnetIds],
            privateSubnetIds: [],
            publicSubnetIds: [],
            routeTables: MOCK_VPC.routeTableIds.map((id) => ({ id })),
          };
        case "aws:cloudwatch/eventRule:EventRule":
          return { arn: `arn:aws:events:${region}:${MOCK_ACCOUNT_ID}:rule/${String(inputs.name ?? args.name)}` };
        case "aws:ec2/vpcEndpoint:VpcEndpoint":
          return { prefixListId: MOCK_S3_PREFIX_LIST };
        case "aws:ec2/securityGroup:SecurityGroup":
          return { id: base.id };
        case "aws:redshiftserverless/namespace:Namespace":
          return {
            arn: `arn:aws:redshift-serverless:${region}:${MOCK_ACCOUNT_ID}:namespace/${base.id}`,
            adminPasswordSecretArn: `arn:aws:secretsmanager:${region}:${MOCK_ACCOUNT_ID}:secret:redshift!${String(inputs.namespaceName)}-admin-AbCdEf`,
          };
        case "aws:redshiftserverless/workgroup:Workgroup":
          return {
            arn: `arn:aws:redshift-serverless:${region}:${MOCK_ACCOUNT_ID}:workgroup/${base.id}`,
            endpoints: [
              {
                address: `${String(inputs.workgroupName)}.${MOCK_ACCOUNT_ID}.${region}.redshift-serverless.amazonaws.com`,
                port: 5439,
              },
            ],
          };
        case "aws:redshift/cluster:Cluster":
          return {
            arn: `arn:aws:redshift:${region}:${MOCK_ACCOUNT_ID}:cluster:${String(inputs.clusterIdentifier)}`,
            dnsName: `${String(inputs.clusterIdentifier)}.abc123.${region}.redshift.amazonaws.com`,
            masterPasswordSecretArn: `arn:aws:secretsmanager:${region}:${MOCK_ACCOUNT_ID}:secret:redshift!${String(inputs.clusterIdentifier)}-admin-AbCdEf`,
          };
        default:
          return {};
      }
    })();
    return { id: base.id, state: { ...base.state, ...extra } };
  }
}
