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
