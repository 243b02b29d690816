/**
 * IAM policy documents as plain data. Every document in infra/ is built by a pure function in this
 * folder from ARNs (strings), so tests can check it without Pulumi and the components only wire
 * resolved ARNs in with `pulumi.all(...).apply(...)`.
 */

export type ConditionOperator = "StringEquals" | "StringLike" | "ArnLike" | "ArnEquals" | "Bool";

/** `{ operator: { key: value | values } }`, as IAM writes it. */
export type Condition = Partial<Record<ConditionOperator, Readonly<Record<string, string | readonly string[]>>>>;

export type Principal =
  { readonly Service: string | readonly string[] } | { readonly AWS: string | readonly string[] } | "*";

export interface PolicyStatement {
  readonly Sid?: string;
  readonly Effect: "Allow" | "Deny";
  readonly Principal?: Principal;
  readonly Action: string | readonly string[];
  readonly Resource?: string | readonly string[];
  readonly Condition?: Condition;
}

export interface PolicyDocument {
  readonly Version: "2012-10-17";
  readonly Statement: readonly PolicyStatement[];
}

export const policyDocument = (statements: readonly PolicyStatement[]): PolicyDocument => ({
  Version: "2012-10-17",
  Statement: statements,
});

/** The account an ARN or a resource policy refers to, in the partition it lives in. */
export interface AccountContext {
  /** `aws`, `aws-cn` or `aws-us-gov`. */
  readonly partition: string;
  readonly accountId: string;
  readonly region: string;
}

export const accountRootArn = (account: AccountContext, accountId = account.accountId): string =>
  `arn:${account.partition}:iam::${accountId}:root`;

/** Service DNS suffix: China regions use `amazonaws.com.cn`. */
export const serviceHost = (service: string, region: string): string =>
  `${service}.${region}.${region.startsWith("cn-") ? "amazonaws.com.cn" : "amazonaws.com"}`;

/**
 * Use of a bucket's KMS key through S3 only, for the given objects: with an S3 Bucket Key the
 * encryption context is the bucket ARN, without one the object ARN, so both are listed.
 */
export function keyThroughS3(
  sid: string,
  action: string | readonly string[],
  args: { readonly keyArn: string; readonly region: string; readonly bucketArn: string },
  objects: readonly string[],
): PolicyStatement {
  return {
    Sid: sid,
    Effect: "Allow",
    Action: action,
    Resource: args.keyArn,
    Condition: {
      StringEquals: { "kms:ViaService": serviceHost("s3", args.region) },
      StringLike: { "kms:EncryptionContext:aws:s3:arn": [args.bucketArn, ...objects] },
    },
  };
}

/** A trust policy letting one AWS service assume a role. */
export function serviceTrustPolicy(service: string, condition?: Condition): PolicyDocument {
  return policyDocument([
    {
      Effect: "Allow",
      Principal: { Service: service },
      Action: "sts:AssumeRole",
      ...(condition ? { Condition: condition } : {}),
    },
  ]);
}
