import {
  keyThroughS3,
  policyDocument,
  serviceHost,
  type AccountContext,
  type PolicyDocument,
  type PolicyStatement,
} from "./policy";

/** The warehouse the loader's Data API statements may run on. */
export type LoaderWarehouseTarget =
  | { readonly kind: "serverless"; readonly workgroupArn: string }
  | { readonly kind: "provisioned"; readonly clusterArn: string };

export interface LoaderPolicyArgs {
  readonly region: string;
  /** The account the loader runs in: the Data API's key grant is limited to callers from it. */
  readonly accountId: string;
  readonly queueArn: string;
  readonly warehouse: LoaderWarehouseTarget;
  /** The Redshift-managed admin secret the Data API authenticates with. */
  readonly adminSecretArn: string;
  /** The warehouse key: it encrypts the namespace or cluster and the admin secret. */
  readonly secretKeyArn: string;
  readonly bucketArn: string;
  /** Where manifests are written, e.g. `manifests/`. */
  readonly manifestPrefix: string;
  /** Where Firehose writes Parquet, e.g. `curated/`: the loader reads each new file's footer there. */
  readonly curatedPrefix: string;
  readonly lakeKeyArn: string;
  readonly logGroupArn: string;
}

/** Data API actions that take the warehouse as their resource. */
export const DATA_API_SUBMIT_ACTIONS: readonly string[] = [
  "redshift-data:ExecuteStatement",
  "redshift-data:BatchExecuteStatement",
];

/**
 * Data API actions on a statement id. They have no resource type (the Service Authorization
 * Reference lists none, so only `Resource: "*"` is valid); the condition limits them to statements
 * this same role submitted, which is how AWS's own AmazonRedshiftDataFullAccess scopes them.
 */
export const DATA_API_STATEMENT_ACTIONS: readonly string[] = [
  "redshift-data:DescribeStatement",
  "redshift-data:GetStatementResult",
  "redshift-data:CancelStatement",
];

/** What the Data API does with the warehouse key on the caller's behalf (AWS's example key policy). */
export const DATA_API_KEY_ACTIONS: readonly string[] = ["kms:CreateGrant", "kms:DescribeKey"];

/** Submit statements to one warehouse through the Data API and follow only one's own statements. */
export function dataApiStatements(warehouseArn: string): PolicyStatement[] {
  return [
    {
      Sid: "SubmitStatementsToThisWarehouse",
      Effect: "Allow",
      Action: [...DATA_API_SUBMIT_ACTIONS],
      Resource: warehouseArn,
    },
    {
      Sid: "FollowOwnStatements",
      Effect: "Allow",
      Action: [...DATA_API_STATEMENT_ACTIONS],
      Resource: "*",
      Condition: { StringEquals: { "redshift-data:statement-owner-iam-userid": "${aws:userid}" } },
    },
  ];
}

/**
 * The loader Lambda's role: drain its own queue, run statements on this warehouse only (authenticated
 * with the one admin secret), follow its own statements, write manifests, write its own logs.
 * and read the footers of curated Parquet files (their column lists; COPY reads the data with the COPY
 * role). Sizes come from the S3 event.
 */
export function loaderPolicy(args: LoaderPolicyArgs): PolicyDocument {
  const manifests = `${args.bucketArn}/${args.manifestPrefix}*`;
  const curated = `${args.bucketArn}/${args.curatedPrefix}*`;
  const lakeKey = { keyArn: args.lakeKeyArn, region: args.region, bucketArn: args.bucketArn };
  const warehouseArn = args.warehouse.kind === "serverless" ? args.warehouse.workgroupArn : args.warehouse.clusterArn;
  return policyDocument([
    {
      Sid: "DrainTheLoadQueue",
      Effect: "Allow",
      Action: ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"],
      Resource: args.queueArn,
    },
    ...dataApiStatements(warehouseArn),
    {
      Sid: "AuthenticateWithTheAdminSecret",
      Effect: "Allow",
      Action: "secretsmanager:GetSecretValue",
      Resource: args.adminSecretArn,
    },
    {
      Sid: "DecryptTheAdminSecretThroughSecretsManager",
      Effect: "Allow",
      Action: "kms:Decrypt",
      Resource: args.secretKeyArn,
      Condition: {
        StringEquals: {
          "kms:ViaService": serviceHost("secretsmanager", args.region),
          "kms:EncryptionContext:SecretARN": args.adminSecretArn,
        },
      },
    },
    {
      // "Using AWS KMS with the Amazon Redshift Data API": on a warehouse encrypted with a customer
      // managed key, ExecuteStatement/BatchExecuteStatement make Redshift create a KMS grant on the
      // caller's behalf (and describe the key); without kms:CreateGrant the statement is refused and
      // nothing loads. Scoped as AWS's example scopes it: this key only, only through the Data API
      // (or the warehouse's own service, which makes the call for it), only from this account.
      Sid: "LetTheDataApiUseTheWarehouseKey",
      Effect: "Allow",
      Action: [...DATA_API_KEY_ACTIONS],
      Resource: args.secretKeyArn,
      Condition: {
        StringEquals: {
          "kms:ViaService": [
            serviceHost("redshift-data", args.region),
            serviceHost(args.warehouse.kind === "serverless" ? "redshift-serverless" : "redshift", args.region),
          ],
          "kms:CallerAccount": args.accountId,
        },
      },
    },
    { Sid: "WriteManifests", Effect: "Allow", Action: "s3:PutObject", Resource: manifests },
    keyThroughS3("EncryptManifestsThroughS3", "kms:GenerateDataKey", lakeKey, [manifests]),
    // Two ranged GETs per new file (the footer length, then the footer): a file written before a column
    // was added has fewer columns than the table, and COPY must name the file's own columns.
    { Sid: "ReadCuratedParquetFooters", Effect: "Allow", Action: "s3:GetObject", Resource: curated },
    keyThroughS3("DecryptCuratedObjectsThroughS3", "kms:Decrypt", lakeKey, [curated]),
    {
      Sid: "WriteOwnLogs",
      Effect: "Allow",
      Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
      Resource: `${args.logGroupArn}:*`,
    },
  ]);
}

export interface LoadQueuePolicyArgs {
  readonly queueArn: string;
  readonly bucketArn: string;
  readonly account: AccountContext;
}

/**
 * Only the lake bucket, in this account, may send its event notifications to the load queue
 * (aws:SourceAccount guards against a same-named bucket in another account after a delete), and
 * nothing may use the queue without TLS.
 */
export function loadQueuePolicy(args: LoadQueuePolicyArgs): PolicyDocument {
  return policyDocument([
    {
      Sid: "LakeBucketNotifications",
      Effect: "Allow",
      Principal: { Service: "s3.amazonaws.com" },
      Action: "sqs:SendMessage",
      Resource: args.queueArn,
      Condition: {
        ArnEquals: { "aws:SourceArn": args.bucketArn },
        StringEquals: { "aws:SourceAccount": args.account.accountId },
      },
    },
    {
      Sid: "DenyRequestsWithoutTls",
      Effect: "Deny",
      Principal: "*",
      Action: "sqs:*",
      Resource: args.queueArn,
      Condition: { Bool: { "aws:SecureTransport": "false" } },
    },
  ]);
}
