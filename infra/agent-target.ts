import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { renderAgentConfig, type AgentFlow } from "../src/spec";
import { agentPolicy, agentTrustPolicy } from "./iam/agent";
import type { AccountContext } from "./iam/policy";

/** SSM Standard parameters hold 4 KB; Advanced ones 8 KB (and cost $0.05 a month). */
export const SSM_STANDARD_LIMIT_BYTES = 4096;
export const SSM_ADVANCED_LIMIT_BYTES = 8192;

export type ParameterTier = "Standard" | "Advanced";

/** The cheapest SSM tier that holds the text; undefined when none does. */
export function parameterTierFor(text: string): ParameterTier | undefined {
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes <= SSM_STANDARD_LIMIT_BYTES) return "Standard";
  if (bytes <= SSM_ADVANCED_LIMIT_BYTES) return "Advanced";
  return undefined;
}

/** agent.json as stored and exported: two-space JSON, as people read it on their servers. */
export function agentConfigText(options: Parameters<typeof renderAgentConfig>[0]): string {
  // Compact: an SSM parameter holds at most 8 KiB, and indentation alone is a quarter of the text
  // (`tributary agent-config` prints it indented for people).
  return `${JSON.stringify(renderAgentConfig(options))}\n`;
}

export const agentConfigParameterName = (namePrefix: string): string => `/tributary/${namePrefix}/agent.json`;

export interface AgentTargetArgs {
  readonly namePrefix: string;
  /** The region agent.json points its Firehose and CloudWatch endpoints at. */
  readonly region: string;
  readonly account: pulumi.Input<AccountContext>;
  /** Every flow of every dataset, in dataset order. */
  readonly flows: readonly AgentFlow[];
  readonly streamArns: ReadonlyArray<pulumi.Input<string>>;
  /** The standalone shipper's install objects (ShipperInstall.objectArns) the servers may read. @default none */
  readonly installObjectArns?: pulumi.Input<string[]>;
  /**
   * Accounts whose principals may assume the agent role from hosts outside EC2 (on premises, other
   * clouds). agent.json then names the role in `assumeRoleARN`. @default none
   */
  readonly trustedAccountIds?: readonly string[];
  /** Required with trustedAccountIds; written into agent.json as `assumeRoleExternalId`. */
  readonly assumeRoleExternalId?: string;
  readonly tags: Readonly<Record<string, string>>;
}

/**
 * What a log server needs to feed the lake: an IAM role and instance profile allowed only to send to
 * this stack's streams, publish the agent's metrics and read its own agent.json, and that agent.json
 * in SSM Parameter Store (`aws ssm get-parameter --name /tributary/<prefix>/agent.json`).
 */
export class AgentTarget extends pulumi.ComponentResource {
  readonly role: aws.iam.Role;
  readonly instanceProfile: aws.iam.InstanceProfile;
  readonly parameter: aws.ssm.Parameter;
  readonly agentConfig: pulumi.Output<string>;
  readonly parameterName: pulumi.Output<string>;
  readonly instanceProfileName: pulumi.Output<string>;

  constructor(name: string, args: AgentTargetArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tributary:agent:AgentTarget", name, {}, opts);
    const account = pulumi.output(args.account);
    const trustedAccountIds = args.trustedAccountIds ?? [];
    const roleName = `${args.namePrefix}-agent`;

    this.role = new aws.iam.Role(
      `${name}-role`,
      {
        name: roleName,
        description: "Kinesis Agent on log servers: PutRecordBatch to this stack's streams, agent metrics",
        assumeRolePolicy: account.apply((a) =>
          JSON.stringify(
            agentTrustPolicy({
              account: a,
              trustedAccountIds,
              ...(args.assumeRoleExternalId !== undefined ? { externalId: args.assumeRoleExternalId } : {}),
            }),
          ),
        ),
        tags: { ...args.tags },
      },
      { parent: this },
    );
    this.instanceProfile = new aws.iam.InstanceProfile(
      `${name}-instance-profile`,
      { name: roleName, role: this.role.name, tags: { ...args.tags } },
      { parent: this },
    );

    // On EC2 the agent uses the instance profile; elsewhere it assumes the role named in agent.json.
    const assumesRole = trustedAccountIds.length > 0;
    this.agentConfig = this.role.arn.apply((roleArn) =>
      agentConfigText({
        region: args.region,
        flows: args.flows,
        ...(assumesRole ? { assumeRoleArn: roleArn } : {}),
        ...(assumesRole && args.assumeRoleExternalId !== undefined
          ? { assumeRoleExternalId: args.assumeRoleExternalId }
          : {}),
      }),
    );
    this.parameter = new aws.ssm.Parameter(
      `${name}-config`,
      {
        name: agentConfigParameterName(args.namePrefix),
        description: "Kinesis Agent configuration (/etc/aws-kinesis/agent.json) for this stack's log servers",
        type: "String",
        // Platform validation has already rejected a config no tier can hold.
        tier: this.agentConfig.apply((text) => parameterTierFor(text) ?? "Advanced"),
        value: this.agentConfig,
        tags: { ...args.tags },
      },
      { parent: this },
    );
    new aws.iam.RolePolicy(
      `${name}-role-policy`,
      {
        role: this.role.id,
        policy: pulumi
          .all([pulumi.all([...args.streamArns]), this.parameter.arn, pulumi.output(args.installObjectArns ?? [])])
          .apply(([streamArns, configParameterArn, installObjectArns]) =>
            JSON.stringify(agentPolicy({ streamArns, configParameterArn, installObjectArns })),
          ),
      },
      { parent: this },
    );
    this.parameterName = this.parameter.name;
    this.instanceProfileName = this.instanceProfile.name;
    this.registerOutputs({
      parameterName: this.parameterName,
      instanceProfileName: this.instanceProfileName,
      roleArn: this.role.arn,
    });
  }
}
