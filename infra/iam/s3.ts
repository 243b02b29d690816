import { policyDocument, type PolicyDocument, type PolicyStatement } from "./policy";

/** Denies every request to the bucket and its objects that does not use TLS. */
export function tlsOnlyStatement(bucketArn: string): PolicyStatement {
  return {
    Sid: "DenyRequestsWithoutTls",
    Effect: "Deny",
    Principal: "*",
    Action: "s3:*",
    Resource: [bucketArn, `${bucketArn}/*`],
    Condition: { Bool: { "aws:SecureTransport": "false" } },
  };
}

export function lakeBucketPolicy(bucketArn: string): PolicyDocument {
  return policyDocument([tlsOnlyStatement(bucketArn)]);
}

export interface AccessLogBucketPolicyArgs {
  readonly logBucketArn: string;
  /** The bucket whose server access logs are delivered here. */
  readonly sourceBucketArn: string;
  readonly accountId: string;
  /** Key prefix the logs are written under, e.g. `lake/`. */
  readonly targetPrefix: string;
}

/**
 * TLS only, plus the S3 logging service's right to write the source bucket's logs. With
 * BucketOwnerEnforced ownership ACLs are off, so the log-delivery grant must be this bucket policy.
 */
export function accessLogBucketPolicy(args: AccessLogBucketPolicyArgs): PolicyDocument {
  return policyDocument([
    tlsOnlyStatement(args.logBucketArn),
    {
      Sid: "S3ServerAccessLogDelivery",
      Effect: "Allow",
      Principal: { Service: "logging.s3.amazonaws.com" },
      Action: "s3:PutObject",
      Resource: `${args.logBucketArn}/${args.targetPrefix}*`,
      Condition: {
        ArnLike: { "aws:SourceArn": args.sourceBucketArn },
        StringEquals: { "aws:SourceAccount": args.accountId },
      },
    },
  ]);
}

/**
 * What Redshift does with S3 through the VPC's gateway endpoint under enhanced VPC routing: COPY and
 * Spectrum read objects and list prefixes (and find the bucket's region). Nothing in the VPC writes.
 */
export const S3_ENDPOINT_ACTIONS: readonly string[] = ["s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation"];

/**
 * The S3 gateway endpoint's policy: requests through it reach only this stack's buckets. Without a
 * policy the endpoint admits any bucket in the region, so a compromised warehouse user could UNLOAD
 * to a bucket of its own choosing; with it, data can only move between the warehouse and the lake.
 */
export function s3EndpointPolicy(bucketArns: readonly string[]): PolicyDocument {
  return policyDocument([
    {
      Sid: "OnlyThisStacksBuckets",
      Effect: "Allow",
      Principal: "*",
      Action: [...S3_ENDPOINT_ACTIONS],
      Resource: bucketArns.flatMap((arn) => [arn, `${arn}/*`]),
    },
  ]);
}
