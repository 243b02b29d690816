import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { TransformSpec } from "../src/datasets/types";
// Imported at the top on purpose: Pulumi serializes the functions this module references into the
// Lambda's code. A require() inside the factory would not be bundled and would fail in Lambda.
import { firehoseTransformHandler } from "../src/transform/handler";
import type { FirehoseTransformationEvent, FirehoseTransformationResponse } from "../src/transform/handler";
import { serviceTrustPolicy } from "./iam/policy";
import { transformFunctionPolicy } from "./iam/lambda";
import packageJson from "../package.json";

/** Firehose waits at most 5 minutes for a transform; a batch of ≤ 3 MB takes well under a second. */
export const TRANSFORM_TIMEOUT_SECONDS = 60;
export const TRANSFORM_MEMORY_MB = 256;
export const TRANSFORM_RUNTIME = "nodejs22.x";

/**
 * The serialized handler requires no npm package (the transforms are plain TypeScript), so every
 * dependency of the project stays out of the zip; @aws-sdk/* would be in the runtime anyway.
 */
export const TRANSFORM_EXCLUDED_PACKAGES: readonly string[] = Object.keys(packageJson.dependencies);

export interface TransformFunctionArgs {
  /** Physical function name; its log group is `/aws/lambda/<functionName>`. */
  readonly functionName: string;
  /** The dataset's column rules (plain data, serialized into the function's code). */
  readonly transform: TransformSpec;
  readonly logRetentionDays: number;
  /** Key the log group is encrypted with. */
  readonly logKeyArn: pulumi.Input<string>;
  readonly tags: Readonly<Record<string, string>>;
}

/**
 * The Firehose transformation Lambda for one dataset: the inline TypeScript handler from
 * src/transform/handler, its own log group (created here so it is encrypted and has a retention),
 * and a role that may only write to that log group.
 */
export class TransformFunction extends pulumi.ComponentResource {
  readonly function: aws.lambda.CallbackFunction<FirehoseTransformationEvent, FirehoseTransformationResponse>;
  readonly role: aws.iam.Role;
  readonly logGroup: aws.cloudwatch.LogGroup;
  /** Unqualified function ARN (what IAM policies name). */
  readonly arn: pulumi.Output<string>;
  /** `<arn>:$LATEST`, the form Firehose's Lambda processor is given. */
  readonly qualifiedArn: pulumi.Output<string>;

  constructor(name: string, args: TransformFunctionArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tributary:transform:TransformFunction", name, {}, opts);

    // Created before the function so Lambda never creates an unencrypted, never-expiring one.
    this.logGroup = new aws.cloudwatch.LogGroup(
      `${name}-logs`,
      {
        name: `/aws/lambda/${args.functionName}`,
        retentionInDays: args.logRetentionDays,
        kmsKeyId: args.logKeyArn,
        tags: { ...args.tags },
      },
      { parent: this },
    );
    this.role = new aws.iam.Role(
      `${name}-role`,
      {
        name: args.functionName,
        description: `Runs the ${args.transform.dataset} Firehose transform; may only write its own logs`,
        assumeRolePolicy: JSON.stringify(serviceTrustPolicy("lambda.amazonaws.com")),
        tags: { ...args.tags },
      },
      { parent: this },
    );
    const rolePolicy = new aws.iam.RolePolicy(
      `${name}-role-policy`,
      {
        role: this.role.id,
        policy: this.logGroup.arn.apply((arn) => JSON.stringify(transformFunctionPolicy(arn))),
      },
      { parent: this },
    );

    const transform = args.transform;
    this.function = new aws.lambda.CallbackFunction<FirehoseTransformationEvent, FirehoseTransformationResponse>(
      `${name}-function`,
      {
        name: args.functionName,
        description: `Firehose transform for ${args.transform.dataset}: agent JSON → typed record for Parquet`,
        // Passing a role keeps CallbackFunction from attaching its broad default managed policies.
        role: this.role,
        runtime: TRANSFORM_RUNTIME,
        timeout: TRANSFORM_TIMEOUT_SECONDS,
        memorySize: TRANSFORM_MEMORY_MB,
        loggingConfig: { logFormat: "Text", logGroup: this.logGroup.name },
        codePathOptions: { extraExcludePackages: [...TRANSFORM_EXCLUDED_PACKAGES] },
        callbackFactory: () => firehoseTransformHandler(transform),
        tags: { ...args.tags },
      },
      { parent: this, dependsOn: [this.logGroup, rolePolicy] },
    );

    this.arn = this.function.arn;
    this.qualifiedArn = pulumi.interpolate`${this.function.arn}:$LATEST`;
    this.registerOutputs({ functionName: this.function.name, arn: this.arn });
  }
}
