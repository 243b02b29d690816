import { keyThroughS3, policyDocument, serviceTrustPolicy, type PolicyDocument, type PolicyStatement } from "./policy";

/**
 * Firehose assumes the delivery role only when it passes this account's id as the external id,
 * which it does for streams in this account: another account's stream cannot borrow the role
 * (confused deputy).
 */
export function firehoseTrustPolicy(accountId: string): PolicyDocument {
  return serviceTrustPolicy("firehose.amazonaws.com", { StringEquals: { "sts:ExternalId": accountId } });
}

export interface FirehoseDeliveryPolicyArgs {
  readonly region: string;
  readonly bucketArn: string;
  /** Key prefixes the stream writes under (its curated and error prefixes, without expressions). */
  readonly objectPrefixes: readonly string[];
  readonly keyArn: string;
  /** The Glue catalog, database and table ARNs the Parquet conversion reads the schema from. */
  readonly glueArns: readonly string[];
  readonly logStreamArn: string;
  /** The transform function's unqualified ARN, when the stream has a Lambda processor. */
  readonly transformFunctionArn?: string;
}

/**
 * The folder part of a Firehose prefix that no expression changes: up to the last `/` before its first
 * `!{…}` (`curated/<dataset>/dt=!{…}/` → `curated/<dataset>/`).
 */
export function staticPrefix(prefix: string): string {
  const at = prefix.indexOf("!{");
  const fixed = at === -1 ? prefix : prefix.slice(0, at);
  return fixed.slice(0, fixed.lastIndexOf("/") + 1);
}

/** One stream's delivery role: its own prefixes, its own table, its own log stream, its own function. */
export function firehoseDeliveryPolicy(args: FirehoseDeliveryPolicyArgs): PolicyDocument {
  const objects = args.objectPrefixes.map((prefix) => `${args.bucketArn}/${prefix}*`);
  const statements: PolicyStatement[] = [
    {
      Sid: "LocateAndListTheLakeBucket",
      Effect: "Allow",
      Action: ["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"],
      Resource: args.bucketArn,
    },
    {
      Sid: "WriteOwnPrefixes",
      Effect: "Allow",
      Action: ["s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"],
      Resource: objects,
    },
    keyThroughS3("EncryptObjectsThroughS3", ["kms:Decrypt", "kms:GenerateDataKey"], args, objects),
    {
      Sid: "ReadTheParquetSchema",
      Effect: "Allow",
      Action: ["glue:GetTable", "glue:GetTableVersion", "glue:GetTableVersions"],
      Resource: args.glueArns,
    },
    {
      Sid: "LogDeliveryErrors",
      Effect: "Allow",
      Action: "logs:PutLogEvents",
      Resource: args.logStreamArn,
    },
  ];
  if (args.transformFunctionArn !== undefined) {
    statements.push({
      Sid: "InvokeTheTransformFunction",
      Effect: "Allow",
      Action: ["lambda:InvokeFunction", "lambda:GetFunctionConfiguration"],
      // The processor calls the qualified ARN (`…:$LATEST`), which only the `:*` form matches.
      Resource: [args.transformFunctionArn, `${args.transformFunctionArn}:*`],
    });
  }
  return policyDocument(statements);
}
