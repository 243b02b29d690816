import type { AgentFlow } from "./delivery";

/** The Kinesis Agent's /etc/aws-kinesis/agent.json, with the agent's own key names. */
export interface AgentConfig {
  readonly "cloudwatch.emitMetrics": boolean;
  readonly "cloudwatch.endpoint": string;
  readonly "firehose.endpoint": string;
  readonly assumeRoleARN?: string;
  readonly assumeRoleExternalId?: string;
  readonly checkpointFile?: string;
  readonly flows: readonly AgentFlow[];
}

export interface AgentConfigOptions {
  readonly region: string;
  readonly flows: readonly AgentFlow[];
  /** Role agents assume when they run outside EC2 (on EC2, the instance profile is enough). */
  readonly assumeRoleArn?: string;
  readonly assumeRoleExternalId?: string;
  /** @default true — the agent's "0 records sent" is only visible through its metrics. */
  readonly emitMetrics?: boolean;
}

/** Renders agent.json for a region and a set of flows (one per dataset, or per file variant). */
export function renderAgentConfig(options: AgentConfigOptions): AgentConfig {
  // China regions use a different DNS suffix.
  const suffix = options.region.startsWith("cn-") ? "amazonaws.com.cn" : "amazonaws.com";
  return {
    "cloudwatch.emitMetrics": options.emitMetrics ?? true,
    "cloudwatch.endpoint": `monitoring.${options.region}.${suffix}`,
    "firehose.endpoint": `firehose.${options.region}.${suffix}`,
    ...(options.assumeRoleArn ? { assumeRoleARN: options.assumeRoleArn } : {}),
    ...(options.assumeRoleExternalId ? { assumeRoleExternalId: options.assumeRoleExternalId } : {}),
    flows: options.flows,
  };
}
