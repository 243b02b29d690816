import {
  accountRootArn,
  policyDocument,
  type AccountContext,
  type PolicyDocument,
  type PolicyStatement,
} from "./policy";

/** The CloudWatch namespace the Kinesis Agent publishes its metrics to (its CW_DEFAULT_NAMESPACE). */
export const AGENT_METRICS_NAMESPACE = "AWSKinesisAgent";

export interface AgentTrustPolicyArgs {
  readonly account: AccountContext;
  /** Accounts whose principals may assume the role from hosts outside EC2. */
  readonly trustedAccountIds: readonly string[];
  /** Required whenever trustedAccountIds is non-empty. */
  readonly externalId?: string;
}

/** EC2 instances (through the instance profile), plus optional accounts that must present the external id. */
export function agentTrustPolicy(args: AgentTrustPolicyArgs): PolicyDocument {
  const statements: PolicyStatement[] = [
    { Sid: "Ec2Hosts", Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" },
  ];
  if (args.trustedAccountIds.length > 0) {
    if (!args.externalId) throw new Error("agentTrustPolicy: trusted accounts need an external id");
    statements.push({
      Sid: "HostsOutsideEc2",
      Effect: "Allow",
      Principal: { AWS: args.trustedAccountIds.map((id) => accountRootArn(args.account, id)) },
      Action: "sts:AssumeRole",
      Condition: { StringEquals: { "sts:ExternalId": args.externalId } },
    });
  }
  return policyDocument(statements);
}

export interface AgentPolicyArgs {
  readonly streamArns: readonly string[];
  /** The SSM parameter holding agent.json, which the server's install step reads. */
  readonly configParameterArn: string;
  /** The standalone shipper's install objects in S3 (bundle, specs, units): read, each by name. @default none */
  readonly installObjectArns?: readonly string[];
}

/**
 * What the Kinesis Agent calls: its FirehoseSender only ever sends PutRecordBatch (never PutRecord),
 * and its metrics go to CloudWatch. cloudwatch:PutMetricData has no resource type, so it takes
 * `Resource: "*"`, narrowed by the only condition key it supports, the namespace. The server also
 * reads its agent.json from SSM once at install (a String parameter: no KMS key involved), or, to
 * run our shipper instead, exactly the shipper's install objects (SSE-S3: no KMS key involved either).
 */
export function agentPolicy(args: AgentPolicyArgs): PolicyDocument {
  return policyDocument([
    { Sid: "SendToOwnStreams", Effect: "Allow", Action: "firehose:PutRecordBatch", Resource: args.streamArns },
    {
      Sid: "ReadOwnAgentConfig",
      Effect: "Allow",
      Action: "ssm:GetParameter",
      Resource: args.configParameterArn,
    },
    ...(args.installObjectArns && args.installObjectArns.length > 0
      ? [
          {
            Sid: "ReadShipperInstall",
            Effect: "Allow" as const,
            Action: "s3:GetObject",
            Resource: [...args.installObjectArns],
          },
        ]
      : []),
    {
      Sid: "PublishAgentMetrics",
      Effect: "Allow",
      Action: "cloudwatch:PutMetricData",
      Resource: "*",
      Condition: { StringEquals: { "cloudwatch:namespace": AGENT_METRICS_NAMESPACE } },
    },
  ]);
}
